/**
 * Composes Berth's server: store, sandbox manager, HTTP handler and terminal
 * socket on one port. `main.ts` runs it; tests create it with their own settings.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Config, allowedHosts, allowedOrigins, configWarnings } from './config.ts';
import type { Logger } from './log.ts';
import { TERMINAL_PATH, WATCH_PATH } from './protocol.ts';
import type { SandboxRuntime } from './runtime/types.ts';
import { DockerRuntime } from './runtime/docker.ts';
import type { Registry } from './registry.ts';
import { SandboxManager } from './sandboxes.ts';
import { defaultMaxSandboxes, HOST_RESERVE_BYTES } from './capacity.ts';
import { freemem } from 'node:os';
import { ScrollbackStore } from './scrollback-store.ts';
import { Store } from './store.ts';
import { missingSandboxCapabilities } from './capabilities.ts';
import { loadAllExercises } from './exercises/load.ts';
import { ExerciseChecker } from './exercises/live.ts';
import { authenticate, createHttpHandler } from './http.ts';
import { TerminalServer } from './ws.ts';
import { Metrics } from './metrics.ts';
import { RateLimiter, clientAddress, trustedProxies } from './rate-limit.ts';
import { requestPath } from './request-path.ts';
import { guardRequest, guardUpgrade } from './listener-guard.ts';
import { Accounts } from './classroom/accounts.ts';
import { Sessions } from './classroom/sessions.ts';
import { createClassroomHandler } from './classroom/routes.ts';
import { Classes } from './classroom/classes.ts';
import { ProgressBus } from './classroom/progress-bus.ts';
import { classRoutes } from './classroom/routes-classes.ts';
import { WatchServer } from './classroom/watch.ts';
import { Recorder } from './classroom/recorder.ts';
import { recordingRoutes } from './classroom/recordings.ts';

export interface Berth {
  server: Server;
  manager: SandboxManager;
  checker: ExerciseChecker;
  store: Store;
  runtime: SandboxRuntime;
  /** The catalog registry sandboxes pull from (absent when BERTH_REGISTRY=off or the runtime is not Docker). */
  registry?: Registry;
  /** Instructor accounts and sessions (classroom/): `sessions.instructorOf(req)` is what other modules ask. */
  classroom: { accounts: Accounts; sessions: Sessions; classes: Classes; bus: ProgressBus; watch: WatchServer; recorder: Recorder };
  /** The port actually bound (differs from config.port when that is 0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

export function createRuntime(config: Config): DockerRuntime {
  return new DockerRuntime({
    instance: config.instance,
    image: config.sandboxImage,
    limits: {
      memoryBytes: config.sandboxMemory,
      cpus: config.sandboxCpus,
      pids: config.sandboxPids,
      diskBytes: config.sandboxDisk,
      nofile: config.sandboxNofile,
    },
    runtime: config.sandboxRuntime,
    registry: config.registry === 'on' ? { port: config.registryPort, upstream: config.registryUpstream, cacheMaxBytes: config.registryCacheMax } : false,
    firewall: { egress: config.sandboxEgress, blocked: config.blockedAddresses },
    addresses: { networkRange: config.sandboxNetworkRange, nestedPools: config.nestedAddressPools },
  });
}

/** Prepares the engine, reconciles sandboxes, and listens. */
export async function startBerth(config: Config, log: Logger, runtime: SandboxRuntime = createRuntime(config)): Promise<Berth> {
  await runtime.prepare();
  // DockerRuntime.prepare() also started the catalog registry sandboxes pull from.
  const registry = runtime instanceof DockerRuntime ? runtime.registry : undefined;
  if (registry) log.info({ mirrors: registry.mirrors }, 'catalog registry ready');
  // DockerRuntime.prepare() installed the network rules too (or threw: no sandbox runs unfiltered).
  if (runtime instanceof DockerRuntime) log.info({ egress: config.sandboxEgress, blocked: config.blockedAddresses }, 'sandbox network rules in place');
  if (runtime instanceof DockerRuntime && runtime.networkWarning) log.warn(runtime.networkWarning);
  if (runtime instanceof DockerRuntime && config.sandboxEgress !== 'open') {
    if (runtime.offlineDns) log.info({ port: runtime.offlineDns.port, adopted: runtime.offlineDns.adopted }, 'offline name server ready');
    else log.warn({ reason: runtime.offlineDnsError }, 'no offline name server: lookups of outside names in sandboxes will take 10-20 s to fail');
  }
  if (config.registry === 'off' && config.sandboxEgress !== 'open') {
    log.warn(`BERTH_REGISTRY=off with BERTH_SANDBOX_EGRESS=${config.sandboxEgress}: sandboxes can pull no images (Docker Hub is outside what they may reach)`);
  }
  for (const warning of configWarnings(config)) log.warn(warning);
  const missingCaps = missingSandboxCapabilities();
  if (missingCaps.length) {
    // Only a warning: a server in a container does not see the engine host's set.
    log.warn({ missing: missingCaps }, 'this host\'s capability bounding set lacks what rootless sandboxes need; they will fail to start');
  }
  const store = new Store(join(config.dataDir, 'berth.db'));
  const lessons = loadAllExercises(config.contentDir);
  const metrics = new Metrics();
  // Manager and checker see a runtime whose failed calls are counted.
  const counted = metrics.instrument(runtime);
  // Progress changes, published by the checker; the class grid subscribes.
  const bus = new ProgressBus((err) => log.error({ err }, 'progress subscriber failed'));
  const classes = new Classes(store);
  // A learner's terminal is recorded for their class, on the class's lessons; exercise markers come from the bus.
  const recorder = new Recorder({
    dir: join(config.dataDir, 'recordings'),
    maxBytes: config.recordingMax,
    shouldRecord: (learner, lesson) => {
      const c = classes.classOfLearner(learner);
      return c?.lessons.includes(lesson) ? c.classId : undefined;
    },
    log,
  });
  bus.subscribe((e) => e.type === 'progress' && recorder.progress(e));
  // Made once the manager exists (it watches the manager's terminals); output before that has no watcher.
  let watch: WatchServer | undefined;
  const checker = new ExerciseChecker({ runtime: counted, store, log, lessons, bus, onRun: (ms) => metrics.checkSeconds.observe(ms / 1000), maxConcurrentRuns: config.maxConcurrentChecks });
  const maxSandboxes = config.maxSandboxes === 'auto' ? defaultMaxSandboxes(config.sandboxMemory) : config.maxSandboxes;
  log.info({ maxSandboxes, computed: config.maxSandboxes === 'auto', warmPool: config.warmPool }, 'running sandboxes allowed at once');
  const manager = new SandboxManager({
    checker,
    runtime: counted,
    log,
    onStarted: (ms) => metrics.sandboxStartSeconds.observe(ms / 1000),
    isKnownLearner: (handle) => store.hasLearner(handle),
    idleTimeoutMs: config.idleTimeout,
    startTimeoutMs: config.startTimeout,
    maxConcurrentStarts: config.maxConcurrentStarts,
    maxSandboxes,
    warmPool: config.warmPool,
    warmPoolMax: config.warmPoolMax,
    availableMemory: () => freemem(), // MemAvailable on Linux
    memoryReserveBytes: HOST_RESERVE_BYTES + config.sandboxMemory,
    detachedGraceMs: config.detachedGrace,
    maxAgeMs: config.sandboxMaxAge,
    maxStoredAgeMs: config.sandboxMaxStoredAge,
    minResetIntervalMs: config.resetInterval,
    disk: { stoppedBudget: config.stoppedDiskBudget, minFree: config.minFreeDisk, intervalMs: config.diskCheckInterval },
    learnerLastSeen: (handle) => store.lastSeenAt(handle),
    scrollbackBytes: config.scrollbackBytes,
    scrollback: new ScrollbackStore(join(config.dataDir, 'scrollback'), config.scrollbackBytes),
    onOutput: (learner, chunk) => {
      watch?.output(learner, chunk);
      recorder.output(learner, chunk);
    },
    onForget: (learner) => recorder.forget(learner),
  });
  if (runtime instanceof DockerRuntime) {
    runtime.onCacheEmptied = (bytes) => log.info({ bytes, max: config.registryCacheMax }, 'the pull-through cache passed BERTH_REGISTRY_CACHE_MAX: emptied');
  }
  const reconciled = await manager.reconcile();
  log.info(reconciled, 'reconciled sandboxes with the engine');
  void manager.disk?.check().then(() => {
    const usage = manager.disk?.usage;
    // Every running sandbox may fill its disk: say so when that is more than the host has.
    if (usage && maxSandboxes * config.sandboxDisk > usage.freeBytes) {
      log.warn({ maxSandboxes, sandboxDisk: config.sandboxDisk, freeBytes: usage.freeBytes }, 'BERTH_MAX_SANDBOXES x BERTH_SANDBOX_DISK is more than the engine host has free: sandboxes that fill their disks can fill the host (lower one of them)');
    }
  });

  let origins = allowedOrigins(config);
  let hosts = allowedHosts(origins);
  const isAllowedOrigin = (origin: string | undefined) => origin !== undefined && origins.has(origin);
  // DNS rebinding: a page on another name that resolves to us sends its own name as Host.
  const isAllowedHost = (host: string | undefined) => host !== undefined && hosts.has(host.toLowerCase());
  const proxies = trustedProxies(config.trustedProxies);
  const addressOf = (req: IncomingMessage) => clientAddress(req, proxies);
  const limiter = (rate: Config['rateApi']) => (rate ? new RateLimiter(rate) : undefined);
  const apiLimit = limiter(config.rateApi);
  const secure = config.publicUrl.startsWith('https:');
  const accounts = new Accounts(store);
  const sessions = new Sessions(store, { secure, idleMs: config.instructorIdle, maxMs: config.instructorSessionMax });
  // Reservations live in the manager's memory: book again those of classes still to come.
  for (const c of classes.reserved(Date.now())) {
    try {
      manager.reserve({ id: c.id, count: c.reservation!.count, startsAt: c.startsAt ?? Date.now(), endsAt: c.endsAt!, images: c.reservation!.images });
    } catch (err) {
      log.warn({ class: c.id, err: (err as Error).message }, 'could not book a class\'s reserved sandboxes again');
    }
  }
  let publicBase = config.publicUrl; // the bound port's, once listening on port 0 (tests)
  const classroom = createClassroomHandler({
    accounts,
    sessions,
    isAllowedOrigin,
    clientAddress: addressOf,
    log,
    routes: classRoutes({
      store,
      classes,
      sessions,
      bus,
      lessons,
      secure,
      progressOf: (learner, lesson) => checker.progressOf(learner, lesson),
      publicBase: () => publicBase,
      claimWarm: (classId) => manager.claimWarm(classId),
      sandboxes: manager,
      log,
    }).concat(recordingRoutes({ classes, recorder })),
  });
  const server = createServer(
    {
      // Slow-header clients (slowloris) are cut off; checked every second, not Node's default 30 s.
      headersTimeout: config.headersTimeout,
      requestTimeout: Math.max(config.headersTimeout, 30_000),
      connectionsCheckingInterval: 1000,
    },
    guardRequest(createHttpHandler({
      siteDir: config.siteDir,
      store,
      manager,
      runtime,
      lessons,
      isAllowedOrigin,
      isAllowedHost,
      publicUrl: config.publicUrl,
      clientAddress: addressOf,
      limits: { api: apiLimit, sessions: limiter(config.rateSessions) },
      metrics,
      metricsToken: config.metricsToken,
      classroom,
    }), log),
  );
  const terminals = new TerminalServer({
    manager,
    log,
    authenticate: (req) => authenticate(store, req, config.publicUrl.startsWith('https:')),
    isAllowedOrigin,
    maxTerminalsPerLearner: config.maxTerminalsPerLearner,
    maxSandboxesPerAddress: config.sandboxesPerAddress,
    clientAddress: addressOf,
    limits: { api: apiLimit, sandboxes: limiter(config.rateSandboxes) },
    metrics,
    onHello: (learner, client) => {
      recorder.pageOpened(learner, client.lesson, client.size.cols, client.size.rows);
      client.sendMessage(watchServer.watchersMessage(learner));
    },
    onResize: (learner, cols, rows) => {
      recorder.resized(learner, cols, rows);
      watchServer.resized(learner, cols, rows);
    },
    onHelpEnd: (learner) => watchServer.helpEnd(learner),
  });
  const watchServer = new WatchServer({
    instructorOf: (req) => sessions.instructorOf(req),
    canWatch: (instructor, learner) => classes.canWatch(instructor, learner),
    terminals: manager,
    log,
    isAllowedOrigin,
  });
  watch = watchServer;
  metrics.watch({ manager, openTerminals: () => terminals.connections });
  server.on('upgrade', guardUpgrade((req, socket, head) => {
    const path = requestPath(req.url);
    if (path === undefined) return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    if (path !== TERMINAL_PATH && path !== WATCH_PATH) return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    if (!isAllowedHost(req.headers.host)) return void socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\n\r\n');
    if (path === WATCH_PATH) return watchServer.handleUpgrade(req, socket, head);
    terminals.handleUpgrade(req, socket, head);
  }, log));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy();
    socket.end(err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origins = allowedOrigins(config, port);
  hosts = allowedHosts(origins);
  const url = config.port === 0 ? `http://localhost:${port}` : config.publicUrl;
  publicBase = url;

  return {
    server,
    manager,
    checker,
    store,
    runtime,
    registry,
    classroom: { accounts, sessions, classes, bus, watch: watchServer, recorder },
    port,
    url,
    async close() {
      terminals.close();
      watchServer.close();
      checker.close();
      // The catalog registry and the name server stay: running sandboxes use them until the next start adopts them.
      await manager.shutdown();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      recorder.close();
      store.close();
    },
  };
}
