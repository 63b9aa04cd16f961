/**
 * The Engine API where every tutorial says it is: in a real sandbox,
 * /var/run/docker.sock answers in the learner's shell (curl, docker -H, docker with
 * DOCKER_HOST unset) and works as a bind-mount source for nested containers
 * (`docker run -v /var/run/docker.sock:/var/run/docker.sock docker:cli docker ps`),
 * and it is the learner's own rootless engine, never the host's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

describe('/var/run/docker.sock in a sandbox', () => {
  let berth: TestBerth;
  let term: TestTerminal;
  let sandbox: string;
  /** The sandbox engine's ID, asked the way lesson 2 does (DOCKER_HOST, the rootless socket). */
  let engineId: string;
  let hostId: string;

  /** Runs a script in a login shell of the learner, like the terminal; fails the test on a non-zero exit. */
  async function sh(script: string, timeoutMs = 120_000): Promise<string> {
    const r = await berth.runtime.exec(sandbox, ['bash', '-lc', script], timeoutMs);
    const out = r.stdout + r.stderr;
    assert.equal(r.exitCode, 0, `script failed (${r.exitCode}${r.timedOut ? ', timed out' : ''}):\n${script}\n---\n${out}`);
    return out;
  }

  before(async () => {
    berth = await startTestBerth();
    term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 90_000);
    const [sb] = await berth.runtime.listSandboxes();
    sandbox = sb!.id;
    engineId = (await sh("docker info --format '{{.ID}}'")).trim();
    hostId = ((await berth.runtime.docker.info()) as { ID: string }).ID;
    assert.match(engineId, /\S/, 'the sandbox engine has an ID');
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('curl --unix-socket /var/run/docker.sock reaches the sandbox engine, as the tutorials write it', async () => {
    const version = JSON.parse(await sh('curl -sf --unix-socket /var/run/docker.sock http://localhost/version')) as { Version: string };
    assert.match(version.Version, /^\d+\.\d+\.\d+/);
    const info = JSON.parse(await sh('curl -sf --unix-socket /var/run/docker.sock http://localhost/info')) as { ID: string; SecurityOptions: string[] };
    assert.equal(info.ID, engineId, 'the same engine as docker info in the shell');
    assert.notEqual(info.ID, hostId, "not the host's engine");
    assert.ok(info.SecurityOptions.includes('name=rootless'), `a rootless engine: ${info.SecurityOptions.join(', ')}`);
  });

  test('docker -H unix:///var/run/docker.sock, and docker with DOCKER_HOST unset, use the same engine', async () => {
    assert.equal((await sh("docker -H unix:///var/run/docker.sock info --format '{{.ID}}'")).trim(), engineId);
    assert.equal((await sh("unset DOCKER_HOST; docker info --format '{{.ID}}'")).trim(), engineId);
    assert.equal((await sh("DOCKER_HOST= docker info --format '{{.ID}}'")).trim(), engineId);
  });

  test('the link is root\'s: the learner cannot point /var/run/docker.sock elsewhere', async () => {
    const out = await sh([
      'ln -sfn /tmp/elsewhere /var/run/docker.sock 2>&1; echo "ln rc=$?"',
      'rm -f /var/run/docker.sock 2>&1; echo "rm rc=$?"',
      'readlink /var/run/docker.sock',
    ].join('\n'));
    assert.match(out, /^ln rc=[1-9]/m, out);
    assert.match(out, /^rm rc=[1-9]/m, out);
    assert.match(out, /Permission denied/);
    assert.match(out, /^\/home\/learner\/\.run\/docker\.sock$/m, 'still the learner\'s own socket');
  });

  test('docker:cli with the socket mounted lists the sandbox containers and talks to the same engine', async () => {
    await sh('docker run -d --name sock-probe busybox sleep 600');
    const ps = await sh('docker run --rm -v /var/run/docker.sock:/var/run/docker.sock docker:cli docker ps --format "{{.Names}}"');
    assert.match(ps, /^sock-probe$/m, `the nested client sees the sandbox's containers:\n${ps}`);
    const id = await sh("docker run --rm -v /var/run/docker.sock:/var/run/docker.sock docker:cli docker info --format '{{.ID}}'");
    assert.equal(id.trim().split('\n').at(-1), engineId, 'the nested client reaches the sandbox engine itself');
    // Without DOCKER_HOST the entrypoint points the client at the mounted socket, as upstream's does.
    const env = await sh('docker run --rm -v /var/run/docker.sock:/var/run/docker.sock docker:cli sh -c \'echo "$DOCKER_HOST"\'');
    assert.equal(env.trim().split('\n').at(-1), 'unix:///var/run/docker.sock');
    // The long --mount form resolves the same way.
    const mounted = await sh("docker run --rm --mount type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock docker:cli docker info --format '{{.ID}}'");
    assert.equal(mounted.trim().split('\n').at(-1), engineId);
    await sh('docker rm -f sock-probe');
  });

  test('after a stop and start (an idle stop, then resume) the link is back and reaches the restarted engine', async () => {
    await berth.runtime.stop(sandbox);
    await berth.runtime.start(sandbox);
    await sh('berth-ready --wait 60', 90_000);
    const info = JSON.parse(await sh('curl -sf --unix-socket /var/run/docker.sock http://localhost/info')) as { ID: string };
    assert.equal(info.ID, engineId, 'the same engine (its ID lives on the sandbox disk)');
  });
});
