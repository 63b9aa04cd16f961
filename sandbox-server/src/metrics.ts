/**
 * Prometheus metrics (prom-client) for one Berth server: sandboxes by state, the
 * start queue, start and check latency, open terminals, engine errors, HTTP and
 * upgrade outcomes, rate-limit refusals, and Node's process metrics (memory!).
 * Each server has its own registry, so tests can run several in one process.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SandboxRuntime } from './runtime/types.ts';
import { isForwarded, isLoopback } from './rate-limit.ts';

/** What the metrics read from the sandbox manager at scrape time. */
export interface ManagerView {
  countsByState(): Record<string, number>;
  /** Learners waiting for a start slot (or a free place), when the manager has a queue. */
  queueLength?(): number;
}

export type UpgradeOutcome = 'accepted' | 'origin' | 'auth' | 'terminals' | 'rate';
export type RateLimitName = 'api' | 'sessions' | 'sandboxes';

export class Metrics {
  readonly registry = new Registry();
  readonly sandboxStartSeconds = new Histogram({
    name: 'berth_sandbox_start_seconds',
    help: 'Time from a start request to a ready nested engine (create or resume, including any wait for a start slot).',
    buckets: [0.5, 1, 1.5, 2, 3, 5, 10, 20, 30, 60, 90],
    registers: [this.registry],
  });
  readonly checkSeconds = new Histogram({
    name: 'berth_exercise_check_seconds',
    help: 'Duration of one exercise check run (all of a lesson\'s checks, one exec in the sandbox).',
    buckets: [0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly engineErrors = new Counter({
    name: 'berth_engine_errors_total',
    help: 'Container engine calls that failed, by operation.',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'berth_http_requests_total',
    help: 'HTTP requests answered, by route and status.',
    labelNames: ['route', 'status'],
    registers: [this.registry],
  });
  readonly upgrades = new Counter({
    name: 'berth_terminal_upgrades_total',
    help: 'Terminal WebSocket upgrade attempts, by outcome (accepted, or why refused).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'berth_rate_limited_total',
    help: 'Requests refused by a per-address rate limit, by limit.',
    labelNames: ['limit'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges read from the server's parts at scrape time. */
  watch(sources: { manager: ManagerView; openTerminals: () => number }): void {
    new Gauge({
      name: 'berth_sandboxes',
      help: 'Sandboxes this server knows, by state.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(sources.manager.countsByState())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'berth_sandbox_queue_length',
      help: 'Sandbox starts waiting for a free slot.',
      registers: [this.registry],
      collect() {
        this.set(sources.manager.queueLength?.() ?? 0);
      },
    });
    new Gauge({
      name: 'berth_terminal_sessions',
      help: 'Open terminal WebSocket connections.',
      registers: [this.registry],
      collect() {
        this.set(sources.openTerminals());
      },
    });
  }

  /** Counts the failed calls of a runtime: every method returning a promise that rejects. */
  instrument<T extends SandboxRuntime>(runtime: T): T {
    const errors = this.engineErrors;
    return new Proxy(runtime, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== 'function') return value;
        return function (this: unknown, ...args: unknown[]) {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) {
            result.catch(() => errors.inc({ operation: String(prop) }));
          }
          return result;
        };
      },
    });
  }
}

/**
 * Who may read /metrics (they show usage): with a token set, only requests that
 * bear it; without one, only requests from this machine that carry no forwarding
 * header. A proxy on this host makes every client a loopback peer, and a client
 * can send X-Forwarded-For itself: either way the header means "not the operator".
 */
export function metricsAccess(req: IncomingMessage, address: string, token: string): { ok: true } | { ok: false; status: 401 | 403; error: string } {
  if (token) {
    const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    // Hash both sides: equal lengths for timingSafeEqual, and no length leak.
    const digest = (s: string) => createHash('sha256').update(s).digest();
    return given && timingSafeEqual(digest(given), digest(token)) ? { ok: true } : { ok: false, status: 401, error: 'metrics need Authorization: Bearer <BERTH_METRICS_TOKEN>' };
  }
  if (isForwarded(req)) return { ok: false, status: 403, error: 'metrics are not served through a proxy (X-Forwarded-For or Forwarded present); set BERTH_METRICS_TOKEN to allow it' };
  return isLoopback(address) ? { ok: true } : { ok: false, status: 403, error: 'metrics are served only to loopback; set BERTH_METRICS_TOKEN to allow others' };
}
