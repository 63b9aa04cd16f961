/**
 * One request must never stop Berth. Malformed request targets (`//`, `///x`, `//%`,
 * a backslash, an upgrade to `//`) once threw inside the listeners and ended the
 * process, with every learner's terminal. They get a 400 now, and the same process
 * keeps serving. If the process dies anyway, its supervisor (what npm start runs)
 * starts it again, and the new server adopts the running sandboxes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { newLearner, removeInstance } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { freePort, startServerProcess, waitForHealthy, type ServerProcess } from '../helpers/server-process.ts';

const IMAGE = process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest';

async function instanceEnv(): Promise<Record<string, string>> {
  return {
    BERTH_INSTANCE: `test-${randomBytes(4).toString('hex')}`,
    BERTH_PORT: String(await freePort()),
    BERTH_DATA_DIR: mkdtempSync(join(tmpdir(), 'berth-requests-')),
    BERTH_SANDBOX_IMAGE: IMAGE,
    BERTH_LOG_LEVEL: 'warn',
    BERTH_WARM_POOL: '0',
  };
}

/** Sends raw bytes to the port and returns the status line of the answer ('' if the connection closed without one). */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(bytes)}`));
    });
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('connect', () => socket.write(bytes));
  });
}

/** The supervisor's one child process: the server. */
function childPid(supervisorPid: number): number {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(supervisorPid)], { encoding: 'utf8' }).trim();
  const pids = out.split(/\s+/).filter(Boolean).map(Number);
  assert.equal(pids.length, 1, `the supervisor has one child: ${out}`);
  return pids[0]!;
}

describe('malformed requests and crashes', () => {
  let env: Record<string, string> | undefined;
  let server: ServerProcess | undefined;
  const runtime = () => new DockerRuntime({ instance: env!.BERTH_INSTANCE!, image: IMAGE, limits: { memoryBytes: 1 << 30, cpus: 1, pids: 1024 } });
  after(async () => {
    await server?.kill('SIGKILL');
    if (env) {
      // A supervised server may outlive a killed supervisor for a moment: it stops when its channel closes.
      await new Promise((r) => setTimeout(r, 1000));
      await removeInstance(runtime(), env.BERTH_INSTANCE!);
      rmSync(env.BERTH_DATA_DIR!, { recursive: true, force: true });
    }
  });

  test('malformed request targets get 400 and the same process keeps serving', async (t) => {
    env = await instanceEnv();
    server = await startServerProcess(env);
    const port = Number(env.BERTH_PORT);
    const targets = ['//', '///x', '//%', '//%zz', '/\\', '/\\\\evil', '//evil.example/api/session'];
    const answers: string[] = [];
    for (const target of targets) {
      answers.push(`${target} ${await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)}`);
      answers.push(`upgrade ${target} ${await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)}`);
    }
    // Targets Node's parser refuses itself: answered 400 by clientError, also no crash.
    answers.push(`space ${await rawRequest(port, 'GET / x HTTP/1.1\r\nHost: x\r\n\r\n')}`);
    t.diagnostic(answers.join('\n'));
    for (const a of answers) assert.match(a, / HTTP\/1\.1 400 Bad Request$/, 'answered 400, not dropped');
    assert.equal(server.child.exitCode, null, `the server is still running: ${server.stderr()}`);
    assert.equal((await fetch(`${server.origin}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.origin}/api/session`)).status, 200, 'and still issues sessions');
  });

  test('a server that dies is started again by its supervisor and adopts the running sandbox', async (t) => {
    // The first test's instance goes entirely (its registry and name server outlive the server).
    await server?.kill('SIGKILL');
    if (env) {
      await removeInstance(runtime(), env.BERTH_INSTANCE!);
      rmSync(env.BERTH_DATA_DIR!, { recursive: true, force: true });
    }
    env = await instanceEnv();
    server = await startServerProcess(env, 60_000, { supervised: true });
    const cookie = await newLearner(server);
    const first = new TestTerminal(server.origin, { cookie });
    await first.waitForState('ready', 90_000);
    await first.run('export BERTH_MARK=crash-only-7');
    const sandboxBefore = (await runtime().listSandboxes()).map((s) => s.id);
    assert.equal(sandboxBefore.length, 1);

    const serverPid = childPid(server.child.pid!);
    const killedAt = Date.now();
    process.kill(serverPid, 'SIGKILL');
    await first.waitForClose();
    await waitForHealthy(server.origin, 30_000, () => (server!.child.exitCode !== null ? `the supervisor exited: ${server!.stderr()}` : undefined));
    const backMs = Date.now() - killedAt;
    const newPid = childPid(server.child.pid!);
    assert.notEqual(newPid, serverPid, 'a new server process');
    assert.match(server.stderr(), /restarting in 1 s/, 'the supervisor said what it did');

    const second = new TestTerminal(server.origin, { cookie });
    try {
      await second.waitForState('ready', 60_000);
      assert.match(await second.run('echo "mark=$BERTH_MARK"'), /mark=crash-only-7/, 'the same shell, adopted');
    } finally {
      second.close();
    }
    assert.deepEqual((await runtime().listSandboxes()).map((s) => s.id), sandboxBefore, 'the same sandbox container, not a new one');
    t.diagnostic(`server SIGKILLed -> answering /healthz again after ${backMs} ms`);

    // A graceful stop of the supervisor stops the server too, and nothing restarts it.
    await server.kill('SIGTERM');
    assert.equal(server.child.exitCode, 0, `the supervisor exited cleanly: ${server.stderr()}`);
    await new Promise((r) => setTimeout(r, 1500));
    await assert.rejects(fetch(`${server.origin}/healthz`), 'nothing listens after the stop');
    server = undefined;
  });
});
