/**
 * The server dies (SIGKILL, or a graceful restart) while learners work: nothing of
 * theirs may be lost. Learners reconnect to the SAME shell (its variables, jobs and
 * directory), with their scrollback, and work; a server killed mid-create leaves no
 * leaked containers or volumes once it is back; 200 create/destroy cycles leak nothing.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { labelFilter } from '../../sandbox-server/src/runtime/labels.ts';
import { newLearner, removeInstance } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

const IMAGE = process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest';

async function instanceEnv(): Promise<Record<string, string>> {
  return {
    BERTH_INSTANCE: `test-${randomBytes(4).toString('hex')}`,
    BERTH_PORT: String(await freePort()),
    BERTH_DATA_DIR: mkdtempSync(join(tmpdir(), 'berth-restart-')),
    BERTH_SANDBOX_IMAGE: IMAGE,
    BERTH_LOG_LEVEL: 'warn',
    BERTH_WARM_POOL: '0', // only the learners' own sandboxes, so they can be counted
  };
}

/** The instance's sandbox containers and data volumes; with `everything`, all it labelled (registry too). */
async function leftovers(runtime: DockerRuntime, instance: string, everything = false) {
  const docker = runtime.docker;
  const all = { label: [`org.berth.instance=${instance}`] };
  const [containers, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters: everything ? all : labelFilter(instance, 'sandbox') }),
    docker.listVolumes({ filters: everything ? all : labelFilter(instance, 'sandbox-data') }),
  ]);
  return { containers: containers.map((c) => `${c.Names[0]} ${c.State}`), volumes: (volumes.Volumes ?? []).map((v) => v.Name) };
}

function loopDevices(): number {
  try {
    return execFileSync('losetup', ['-a'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe('server restarts', () => {
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  const runtime = () => new DockerRuntime({ instance: env.BERTH_INSTANCE!, image: IMAGE, limits: { memoryBytes: 1 << 30, cpus: 1, pids: 1024 } });
  after(async () => {
    await server?.kill('SIGKILL');
    if (env) {
      await removeInstance(runtime(), env.BERTH_INSTANCE!);
      rmSync(env.BERTH_DATA_DIR!, { recursive: true, force: true });
    }
  });

  test('after a crash and after a graceful restart, learners find their shell, scrollback and work', async (t) => {
    env = await instanceEnv();
    server = await startServerProcess(env);
    const cookie = await newLearner(server);
    const first = new TestTerminal(server.origin, { cookie });
    await first.waitForState('ready', 90_000);
    await first.run('export BERTH_MARK=kept-42; cd /tmp; sleep 3000 & docker volume create work-vol >/dev/null; echo "scroll-$((6 * 7))"');
    await new Promise((r) => setTimeout(r, 3000)); // scrollback is saved every 2 s: what a crash can lose
    await server.kill('SIGKILL');
    await first.waitForClose();

    const crashedAt = Date.now();
    server = await startServerProcess(env);
    const second = new TestTerminal(server.origin, { cookie });
    await second.waitForState('ready', 60_000);
    const reconnectMs = Date.now() - crashedAt;
    await second.waitForOutput(/scroll-42/, 5000); // the replay after a crash holds what the learner saw
    const shell = await second.run('echo "mark=$BERTH_MARK dir=$PWD"; jobs; docker volume ls -q');
    assert.match(shell, /mark=kept-42 dir=\/tmp/, 'the same shell: its variables and directory');
    assert.match(shell, /sleep 3000/, 'the same shell: its background job');
    assert.match(shell, /work-vol/, 'the nested engine kept its volume');
    const clients = await second.run('ps -eo ppid=,comm= | awk \'$2 == "dtach" && $1 == 0\' | wc -l');
    assert.match(clients, /^\s*1\s*$/m, 'the dead server\'s attach client was ended: one client feeds the shell');
    t.diagnostic(`restart after SIGKILL to a ready shell: ${reconnectMs} ms`);

    // A graceful restart saves the latest output right away.
    await second.run('echo "graceful-$((7 * 6))-marker"');
    await server.kill('SIGTERM');
    await second.waitForClose();
    server = await startServerProcess(env);
    const third = new TestTerminal(server.origin, { cookie });
    try {
      await third.waitForState('ready', 60_000);
      await third.waitForOutput(/graceful-42-marker/, 5000);
      assert.match(await third.run('echo "still=$BERTH_MARK"'), /still=kept-42/);
    } finally {
      third.close();
    }
  });
});

describe('kills and churn leak nothing', () => {
  test('a server killed mid-create, again and again, recovers; every learner gets a working sandbox', async () => {
    const env = await instanceEnv();
    const rt = new DockerRuntime({ instance: env.BERTH_INSTANCE!, image: IMAGE, limits: { memoryBytes: 1 << 30, cpus: 1, pids: 1024 } });
    let server: ServerProcess | undefined;
    try {
      const cookies: string[] = [];
      for (let round = 0; round < 5; round++) {
        server = await startServerProcess(env);
        const cookie = await newLearner(server);
        cookies.push(cookie);
        const term = new TestTerminal(server.origin, { cookie });
        // Kill at a different point of the create/start each round.
        await term.until(() => term.states.includes('creating') || term.states.includes('starting'), 20_000, 'the start to begin');
        await new Promise((r) => setTimeout(r, round * 300));
        await server.kill('SIGKILL');
        term.close();
      }
      server = await startServerProcess(env);
      for (const cookie of cookies) {
        const term = new TestTerminal(server.origin, { cookie });
        try {
          await term.waitForState('ready', 90_000);
          assert.match(await term.run('docker info --format "engine={{.ServerVersion}}"'), /engine=\d/);
        } finally {
          term.close();
        }
      }
      const state = await leftovers(rt, env.BERTH_INSTANCE!);
      assert.equal(state.containers.length, cookies.length, `one sandbox per learner: ${JSON.stringify(state)}`);
      assert.equal(state.volumes.length, cookies.length, `one data volume per learner: ${JSON.stringify(state)}`);
    } finally {
      await server?.kill('SIGKILL');
      await removeInstance(rt, env.BERTH_INSTANCE!);
      rmSync(env.BERTH_DATA_DIR!, { recursive: true, force: true });
    }
    assert.deepEqual(await leftovers(rt, env.BERTH_INSTANCE!, true), { containers: [], volumes: [] });
  });

  test('200 create/start/destroy cycles leave no container, volume or loop device behind', async (t) => {
    const instance = `test-${randomBytes(4).toString('hex')}`;
    const rt = new DockerRuntime({ instance, image: IMAGE, limits: { memoryBytes: 1 << 30, cpus: 1, pids: 1024 }, registry: false });
    await rt.prepare();
    const loopsBefore = loopDevices();
    const began = Date.now();
    const CYCLES = 200;
    const PARALLEL = 4;
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < CYCLES) {
            const handle = randomBytes(32).toString('hex');
            next++;
            const info = await rt.create(handle);
            await rt.start(info.id); // destroyed while its engine boots: the harshest moment
            await rt.destroy(handle);
          }
        }),
      );
      const ms = Date.now() - began;
      t.diagnostic(`${CYCLES} create/start/destroy cycles, ${PARALLEL} at a time: ${ms} ms (${(ms / CYCLES).toFixed(0)} ms each)`);
      // Only what prepare() runs beside the sandboxes is left: the name server.
      assert.deepEqual(await leftovers(rt, instance, true), { containers: [`/berth-${instance}-dns running`], volumes: [] });
      assert.equal(loopDevices(), loopsBefore, 'no loop device left attached');
    } finally {
      await removeInstance(rt, instance);
    }
  });
});
