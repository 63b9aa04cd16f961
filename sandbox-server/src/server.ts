/**
 * Composes Berth's server: store, sandbox manager, HTTP handler and terminal
 * socket on one port. `main.ts` runs it; tests create it with their own settings.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Config, allowedOrigins } from './config.ts';
import type { Logger } from './log.ts';
import { TERMINAL_PATH } from './protocol.ts';
import type { SandboxRuntime } from './runtime/types.ts';
import { DockerRuntime } from './runtime/docker.ts';
import type { Registry } from './registry.ts';
import { SandboxManager } from './sandboxes.ts';
import { Store } from './store.ts';
import { missingSandboxCapabilities } from './capabilities.ts';
import { loadAllExercises } from './exercises/load.ts';
import { ExerciseChecker } from './exercises/live.ts';
import { authenticate, createHttpHandler } from './http.ts';
import { TerminalServer } from './ws.ts';

export interface Berth {
  server: Server;
  manager: SandboxManager;
  checker: ExerciseChecker;
  store: Store;
  runtime: SandboxRuntime;
  /** The catalog registry sandboxes pull from (absent when BERTH_REGISTRY=off or the runtime is not Docker). */
  registry?: Registry;
  /** The port actually bound (differs from config.port when that is 0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

export function createRuntime(config: Config): DockerRuntime {
  return new DockerRuntime({
    instance: config.instance,
    image: config.sandboxImage,
    limits: { memoryBytes: config.sandboxMemory, cpus: config.sandboxCpus, pids: config.sandboxPids },
    registry: config.registry === 'on' ? { port: config.registryPort, upstream: config.registryUpstream } : false,
  });
}

/** Prepares the engine, reconciles sandboxes, and listens. */
export async function startBerth(config: Config, log: Logger, runtime: SandboxRuntime = createRuntime(config)): Promise<Berth> {
  await runtime.prepare();
  // DockerRuntime.prepare() also started the catalog registry sandboxes pull from.
  const registry = runtime instanceof DockerRuntime ? runtime.registry : undefined;
  if (registry) log.info({ mirrors: registry.mirrors }, 'catalog registry ready');
  const missingCaps = missingSandboxCapabilities();
  if (missingCaps.length) {
    // Only a warning: a server in a container does not see the engine host's set.
    log.warn({ missing: missingCaps }, 'this host\'s capability bounding set lacks what rootless sandboxes need; they will fail to start');
  }
  const store = new Store(join(config.dataDir, 'berth.db'));
  const lessons = loadAllExercises(config.contentDir);
  const checker = new ExerciseChecker({ runtime, store, log, lessons });
  const manager = new SandboxManager({
    checker,
    runtime,
    log,
    isKnownLearner: (handle) => store.hasLearner(handle),
    idleTimeoutMs: config.idleTimeout,
    startTimeoutMs: config.startTimeout,
    maxConcurrentStarts: config.maxConcurrentStarts,
    scrollbackBytes: config.scrollbackBytes,
  });
  const reconciled = await manager.reconcile();
  log.info(reconciled, 'reconciled sandboxes with the engine');

  let origins = allowedOrigins(config);
  const isAllowedOrigin = (origin: string | undefined) => origin !== undefined && origins.has(origin);
  const server = createServer(
    createHttpHandler({
      siteDir: config.siteDir,
      store,
      manager,
      runtime,
      lessons,
      isAllowedOrigin,
      secureCookies: config.publicUrl.startsWith('https:'),
    }),
  );
  const terminals = new TerminalServer({
    manager,
    log,
    authenticate: (req) => authenticate(store, req),
    isAllowedOrigin,
    maxTerminalsPerLearner: config.maxTerminalsPerLearner,
  });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://berth.invalid').pathname;
    if (path !== TERMINAL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    terminals.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origins = allowedOrigins(config, port);
  const url = config.port === 0 ? `http://localhost:${port}` : config.publicUrl;

  return {
    server,
    manager,
    checker,
    store,
    runtime,
    registry,
    port,
    url,
    async close() {
      terminals.close();
      checker.close();
      await manager.shutdown();
      if (runtime instanceof DockerRuntime) await runtime.close().catch((err: unknown) => log.warn({ err }, 'could not remove the catalog registry'));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store.close();
    },
  };
}
