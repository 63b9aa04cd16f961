/**
 * A learner's own `docker build` (BuildKit, as `docker build` is in the sandbox) keeps
 * its cache the way it would on a real machine: a rebuild prints CACHED for the RUN and
 * COPY steps, and so does a rebuild after the sandbox was stopped by the idle sweep and
 * resumed by the learner's return. The RUN step writes a fresh timestamp, so the image
 * after the resume must carry the first build's: a lost cache would rerun it. Build
 * times are measured by `npm run bench:pull`, not here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

const DOCKERFILE = [
  'FROM debian:trixie-slim',
  'RUN date +%s%N > /built-at',
  'COPY hello.txt /hello.txt',
  'CMD ["cat", "/built-at", "/hello.txt"]',
];

describe('learner builds: the BuildKit cache', () => {
  let berth: TestBerth;
  let cookie: string;
  let sandbox: string;

  async function sh(script: string, timeoutMs = 300_000): Promise<string> {
    const r = await berth.runtime.exec(sandbox, ['bash', '-c', script], timeoutMs);
    assert.equal(r.exitCode, 0, `failed (${r.exitCode}):\n${script}\n---\n${r.stdout}${r.stderr}`);
    return r.stdout + r.stderr;
  }
  const build = () => sh('cd ~/app && docker build --progress=plain -t myapp . 2>&1 && docker run --rm myapp');
  /** The BuildKit step lines ("#6 [2/3] RUN ...") each followed, in the same vertex, by CACHED or not. */
  function cachedSteps(out: string): string[] {
    const cached = new Set([...out.matchAll(/^#(\d+) CACHED$/gm)].map((m) => m[1]));
    return [...out.matchAll(/^#(\d+) \[\d+\/\d+\] (RUN|COPY) /gm)].filter((m) => cached.has(m[1])).map((m) => m[2]!);
  }

  before(async () => {
    berth = await startTestBerth();
    cookie = await newLearner(berth);
    const term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 90_000);
    term.close();
    sandbox = (await berth.runtime.listSandboxes())[0]!.id;
    await sh(`mkdir -p ~/app && cd ~/app && echo hello > hello.txt && printf '%s\\n' ${DOCKERFILE.map((l) => `'${l}'`).join(' ')} > Dockerfile`);
  });
  after(async () => {
    await berth?.destroy();
  });

  test('a rebuild shows CACHED steps, and so does one after an idle stop and resume', async () => {
    const cold = await build();
    assert.deepEqual(cachedSteps(cold), [], `a first build runs every step:\n${cold}`);
    const builtAt = /^(\d{19})$/m.exec(cold)?.[1];
    assert.ok(builtAt, `the image prints its build time:\n${cold}`);

    const warm = await build();
    assert.deepEqual(cachedSteps(warm), ['RUN', 'COPY'], `a rebuild uses the cache:\n${warm}`);

    // The idle sweep's own stop, as if the learner had been away past BERTH_IDLE_TIMEOUT.
    assert.equal(await berth.manager.stopIdle(Date.now() + 365 * 86_400_000), 1);
    const [stopped] = await berth.runtime.listSandboxes();
    assert.equal(stopped?.running, false, 'the sandbox is stopped');
    const back = new TestTerminal(berth.origin, { cookie });
    try {
      await back.waitForState('ready', 90_000);
    } finally {
      back.close();
    }
    assert.equal((await berth.runtime.listSandboxes())[0]?.id, sandbox, 'the same sandbox resumed');

    const resumed = await build();
    assert.deepEqual(cachedSteps(resumed), ['RUN', 'COPY'], `the cache survived the stop:\n${resumed}`);
    assert.match(resumed, new RegExp(`^${builtAt}$`, 'm'), 'the RUN step did not run again');
  });
});
