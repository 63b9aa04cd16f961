/**
 * Starts a real Berth (real engine, real sandboxes) for a test, scoped to its own
 * instance name so it never touches a developer's sandboxes, and cleans up after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { loadConfig, type Config } from '../../sandbox-server/src/config.ts';
import { startBerth, createRuntime, type Berth } from '../../sandbox-server/src/server.ts';
import { labelFilter } from '../../sandbox-server/src/runtime/labels.ts';
import { removeRegistry } from '../../sandbox-server/src/registry.ts';
import { removeOfflineDns } from '../../sandbox-server/src/runtime/offline-dns.ts';
import type { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { TestTerminal } from './terminal-client.ts';

export interface TestBerth extends Berth {
  config: Config;
  runtime: DockerRuntime;
  origin: string;
  /** Stops the server but keeps sandboxes and data (for restart tests). */
  stop(): Promise<void>;
  /** Stops the server and removes every container, volume and network of the instance. */
  destroy(): Promise<void>;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    BERTH_INSTANCE: `test-${randomBytes(4).toString('hex')}`,
    BERTH_PORT: '0',
    BERTH_DATA_DIR: mkdtempSync(join(tmpdir(), 'berth-test-')),
    BERTH_LOG_LEVEL: process.env.BERTH_TEST_LOG_LEVEL ?? 'warn',
    BERTH_SANDBOX_IMAGE: process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest',
    BERTH_WARM_POOL: '0', // tests that want a warm pool ask for one: it boots sandboxes nobody uses
    ...env,
  });
}

/** `log`: a logger of the test's own, e.g. one that collects the lines to check what the server logs. */
export async function startTestBerth(config: Config = testConfig(), log: pino.Logger = pino({ level: config.logLevel })): Promise<TestBerth> {
  const runtime = createRuntime(config);
  const berth = await startBerth(config, log, runtime);
  const stop = () => berth.close();
  return {
    ...berth,
    config,
    runtime,
    origin: `http://localhost:${berth.port}`,
    stop,
    async destroy() {
      await stop().catch(() => {});
      await removeInstance(runtime, config.instance);
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes everything labelled with the instance, whatever state it is in. */
export async function removeInstance(runtime: DockerRuntime, instance: string): Promise<void> {
  const docker = runtime.docker;
  // The catalog registry (and cache) first: they sit on the instance's network too.
  await removeRegistry(docker, instance, { volumes: true }).catch(() => {});
  for (const c of await docker.listContainers({ all: true, filters: labelFilter(instance, 'sandbox') })) {
    await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
  }
  const { Volumes } = await docker.listVolumes({ filters: labelFilter(instance, 'sandbox-data') });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
  // The name server too, even if a sandbox could not be removed (removeNetwork() keeps it then).
  await removeOfflineDns(docker, instance).catch(() => {});
  // The network last, with the firewall rules that guarded it (runtime/firewall.ts).
  await runtime.removeNetwork().catch(() => {});
}

/** GET /api/session; returns the learner cookie ("name=value") the server issued. */
export async function newLearner(berth: { origin: string }): Promise<string> {
  const res = await fetch(`${berth.origin}/api/session`);
  if (res.status !== 200) throw new Error(`/api/session answered ${res.status}`);
  const setCookie = res.headers.get('set-cookie');
  if (!setCookie) throw new Error('no cookie issued');
  return setCookie.split(';')[0]!;
}

export interface OneSandbox {
  berth: TestBerth;
  /** The learner's terminal, ready. */
  term: TestTerminal;
  /** The sandbox container's id. */
  sandbox: string;
  /** Runs a script in the sandbox as the learner (no TTY); stdout and stderr together. */
  sh(script: string, timeoutMs?: number): Promise<{ code: number | null; out: string }>;
  close(): Promise<void>;
}

/** A server with one learner whose sandbox is ready: what most integration tests start from. */
export async function startWithSandbox(config: Config = testConfig()): Promise<OneSandbox> {
  const berth = await startTestBerth(config);
  const term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
  await term.waitForState('ready', 90_000);
  const sandbox = (await berth.runtime.listSandboxes())[0]!.id;
  return {
    berth,
    term,
    sandbox,
    async sh(script, timeoutMs = 300_000) {
      const r = await berth.runtime.exec(sandbox, ['bash', '-c', script], timeoutMs);
      return { code: r.exitCode, out: r.stdout + r.stderr };
    },
    async close() {
      term.close();
      await berth.destroy();
    },
  };
}
