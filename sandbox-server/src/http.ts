/**
 * Plain HTTP: the built site, the session endpoint that issues learner cookies,
 * the health check and Prometheus metrics. Everything is on one origin with the
 * terminal socket. /api/* and new learners are rate-limited per client address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sirv from 'sirv';
import type { Store } from './store.ts';
import type { SandboxManager } from './sandboxes.ts';
import type { SandboxRuntime } from './runtime/types.ts';
import { cookieName, expiredCookie, handleOf, isWellFormedId, learnerCookie, newLearnerId, readLearnerId } from './identity.ts';
import { LEARNER_COOKIE } from './protocol.ts';
import type { ExerciseFile } from './exercises/schema.ts';
import { progressIds } from './exercises/live.ts';
import { type RateLimiter, limitKey, retryAfterSeconds } from './rate-limit.ts';
import { type Metrics, type RateLimitName, metricsAccess } from './metrics.ts';
import { requestPath } from './request-path.ts';
import { joinPagePath } from './classroom/routes-classes.ts';

export interface HttpOptions {
  siteDir: string;
  store: Store;
  manager: SandboxManager;
  runtime: SandboxRuntime;
  /** BERTH_PUBLIC_URL: over https, cookies are Secure and __Host- prefixed and HSTS is sent. */
  publicUrl: string;
  /** Exercise files by lesson slug (for progress totals). */
  lessons: ReadonlyMap<string, ExerciseFile>;
  /** Origin check for requests that change state (CSRF). */
  isAllowedOrigin: (origin: string | undefined) => boolean;
  /** Host header check (DNS rebinding): only our own names are answered. */
  isAllowedHost: (host: string | undefined) => boolean;
  /** The client's address (socket peer, or the trusted proxy's X-Forwarded-For). */
  clientAddress: (req: IncomingMessage) => string;
  /** Per-address limits; an absent one is off. */
  limits: { api?: RateLimiter; sessions?: RateLimiter };
  metrics: Metrics;
  /** Bearer token for /metrics; empty: loopback only. */
  metricsToken: string;
  /** The classroom's declared routes (classroom/routes.ts): answers and returns true for the paths it owns. */
  classroom?: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
}

/** Routes as metric labels: a fixed set, so a scan of random paths cannot grow the series. */
const API_ROUTES = new Set(['/api/session', '/api/forget', '/api/progress', '/api/progress/export', '/api/progress/reset']);
function routeLabel(path: string): string {
  if (path === '/healthz' || path === '/metrics' || API_ROUTES.has(path)) return path;
  return path.startsWith('/api/') ? '/api/other' : 'site';
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * The site's scripts are all external modules from /_astro, so scripts need no
 * 'unsafe-inline'. Styles do: Astro inlines small <style> blocks, Shiki colours
 * code with style attributes and xterm.js adds <style> elements at run time. The
 * only socket is the terminal's, on the page's own host (browsers have not always
 * counted ws: as 'self'); `host` is a Host header already checked against ours.
 */
export function contentSecurityPolicy(host: string, secure: boolean, wasm = false): string {
  return [
    "default-src 'self'",
    // The replay page's player (asciinema-player) runs its terminal emulator as WebAssembly:
    // 'wasm-unsafe-eval' lets a page compile WebAssembly, not evaluate script text.
    wasm ? "script-src 'self' 'wasm-unsafe-eval'" : "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:", // the favicon is a data: SVG
    `connect-src 'self' ${secure ? 'wss' : 'ws'}://${host}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** HSTS for a year: sent only on the https public URL's host (browsers ignore it over http anyway). */
const HSTS = 'max-age=31536000';

/** Engine answers to /healthz are shared this long: a flood of health checks is one ping a second. */
export const HEALTH_CACHE_MS = 1000;

/** One ping at a time, its answer reused for `ttlMs`; concurrent callers share the pending one. */
export function sharedPing(ping: () => Promise<boolean>, ttlMs = HEALTH_CACHE_MS, now: () => number = Date.now): () => Promise<boolean> {
  let last: { at: number; result: Promise<boolean> } | undefined;
  return () => {
    const t = now();
    if (!last || t - last.at >= ttlMs) {
      const result = ping().catch(() => false);
      last = { at: t, result };
      // Measured from the answer, so a slow engine is not pinged back to back.
      void result.then(() => {
        if (last?.result === result) last.at = now();
      });
    }
    return last.result;
  };
}

/**
 * The learner handle of a request with a valid cookie (well-formed and issued by us).
 * Over https the plain (unprefixed) name is honoured only for learners created
 * before __Host- cookies began, so a cookie planted from a sibling subdomain
 * cannot pick a new visitor's identity.
 */
export function authenticate(store: Store, req: IncomingMessage, secure: boolean): string | undefined {
  const found = readLearnerId(req.headers.cookie);
  if (!found || !isWellFormedId(found.id)) return undefined;
  const handle = handleOf(found.id);
  if (!store.hasLearner(handle)) return undefined;
  if (secure && found.name === LEARNER_COOKIE && !store.createdBefore(handle, store.hostCookieSince())) return undefined;
  return handle;
}

export function createHttpHandler(opts: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { store, manager } = opts;
  const secure = opts.publicUrl.startsWith('https:');
  const publicHost = new URL(opts.publicUrl).host;
  const engineUp = sharedPing(() => opts.runtime.ping());
  const site = existsSync(opts.siteDir)
    ? sirv(opts.siteDir, { etag: true, extensions: ['html'], dotfiles: false })
    : undefined;
  // The site's 404 page, per language (src/pages/404.astro, src/pages/en/404.astro).
  const notFoundPages = { ko: join(opts.siteDir, '404.html'), en: join(opts.siteDir, 'en', '404', 'index.html') };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  /** The learner's own progress: summary, export, reset. */
  const progressApi = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const learner = authenticate(store, req, secure);
    if (!learner) return json(res, 401, { error: 'no learner cookie: load the site first' });
    if (path === '/api/progress' && req.method === 'GET') {
      const rows = store.progress(learner);
      const scores = new Map(store.scores(learner).map((s) => [s.lesson, s]));
      const lessons: Record<string, { passed: number; total: number; graded: boolean; score?: { passed: number; total: number } }> = {};
      for (const [slug, file] of opts.lessons) {
        const ids = progressIds(file);
        const passed = rows.filter((r) => r.lesson === slug && ids.has(r.exercise) && r.firstPassedAt !== null).length;
        const score = scores.get(slug);
        lessons[slug] = { passed, total: ids.size, graded: file.graded, ...(file.graded && score ? { score: { passed: score.passed, total: score.total } } : {}) };
      }
      return json(res, 200, { lessons });
    }
    if (path === '/api/progress/export' && req.method === 'GET') {
      res.setHeader('Content-Disposition', 'attachment; filename="berth-progress.json"');
      return json(res, 200, {
        exportedAt: new Date().toISOString(),
        learner: learner.slice(0, 8),
        exercises: store.progress(learner).map((r) => ({
          lesson: r.lesson,
          exercise: r.exercise,
          firstPassedAt: r.firstPassedAt === null ? null : new Date(r.firstPassedAt).toISOString(),
          attempts: r.attempts,
          hintsUsed: r.hintsUsed,
          solutionRevealedAt: r.solutionRevealedAt === null ? null : new Date(r.solutionRevealedAt).toISOString(),
          triedAt: r.triedAt === null ? null : new Date(r.triedAt).toISOString(),
        })),
        scores: store.scores(learner).map((s) => ({ lesson: s.lesson, passed: s.passed, total: s.total, recordedAt: new Date(s.recordedAt).toISOString() })),
        // Graded exercises: what the checks observed when each first passed.
        evidence: store.evidence(learner).map((e) => ({ lesson: e.lesson, exercise: e.exercise, recordedAt: new Date(e.recordedAt).toISOString(), checks: e.checks })),
      });
    }
    if (path === '/api/progress/reset' && req.method === 'POST') {
      // A cross-site form could post here with the cookie: only our own pages may.
      if (!opts.isAllowedOrigin(req.headers.origin)) return json(res, 403, { error: 'origin not allowed' });
      store.resetProgress(learner);
      res.writeHead(204, { 'Cache-Control': 'no-store' });
      return void res.end();
    }
    return json(res, path === '/api/progress' || path === '/api/progress/export' || path === '/api/progress/reset' ? 405 : 404, { error: `no such endpoint: ${req.method} ${path}` });
  };

  const serveMetrics = (req: IncomingMessage, res: ServerResponse): void => {
    const access = metricsAccess(req, opts.clientAddress(req), opts.metricsToken);
    if (!access.ok) return json(res, access.status, { error: access.error });
    void opts.metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': opts.metrics.registry.contentType, 'Cache-Control': 'no-store' });
        res.end(text);
      },
      (err: Error) => json(res, 500, { error: `metrics failed: ${err.message}` }),
    );
  };

  /** Spends one token of a per-address limit; on refusal answers 429 with Retry-After and returns false. */
  const allow = (name: RateLimitName, limiter: RateLimiter | undefined, req: IncomingMessage, res: ServerResponse, what: string): boolean => {
    const taken = limiter?.take(limitKey(opts.clientAddress(req))) ?? { ok: true };
    if (taken.ok) return true;
    opts.metrics.rateLimited.inc({ limit: name });
    const seconds = retryAfterSeconds(taken.retryAfterMs);
    res.setHeader('Retry-After', String(seconds));
    json(res, 429, { error: `too many ${what} from your address; retry in ${seconds} s`, retryAfter: seconds });
    return false;
  };

  return (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const path = requestPath(req.url);
    const route = path === undefined ? 'bad' : routeLabel(path);
    res.on('finish', () => opts.metrics.httpRequests.inc({ route, status: String(res.statusCode) }));
    if (path === undefined) return json(res, 400, { error: 'bad request target: expected a path such as /lessons/' });

    // Probes (a container orchestrator's, by IP) may use any name; the answer says only "up".
    if (path === '/healthz') {
      void engineUp().then((engine) => json(res, engine ? 200 : 503, { status: engine ? 'ok' : 'degraded', engine: engine ? 'up' : 'down' }));
      return;
    }
    // A token is proof enough (a rebinding page cannot send it), so scrapers may use any name.
    if (path === '/metrics' && opts.metricsToken) return serveMetrics(req, res);
    const host = req.headers.host;
    if (!opts.isAllowedHost(host)) {
      return json(res, 421, { error: 'this server does not answer to that host name; add its origin to BERTH_PUBLIC_URL or BERTH_ALLOWED_ORIGINS' });
    }
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(host!, secure && host === publicHost, /^(\/en)?\/teach\/replay/.test(path)));
    if (secure && host === publicHost) res.setHeader('Strict-Transport-Security', HSTS);

    if (path === '/metrics') return serveMetrics(req, res);

    if (path.startsWith('/api/') && !allow('api', opts.limits.api, req, res, 'requests')) return;
    if (path.startsWith('/api/') && opts.classroom?.(req, res, path)) return;

    if (path === '/api/session') {
      if (req.method !== 'GET') return json(res, 405, { error: 'use GET' });
      let handle = authenticate(store, req, secure);
      if (!handle) {
        if (!allow('sessions', opts.limits.sessions, req, res, 'new learners')) return;
        const id = manager.claimWarm() ?? newLearnerId(); // a warm-pool sandbox, already booted, when there is one
        handle = handleOf(id);
        store.addLearner(handle);
        res.setHeader('Set-Cookie', learnerCookie(id, secure));
      } else {
        store.touchLearner(handle);
        // Each visit renews the cookie's life; over https a plain-named one moves to the __Host- name.
        const found = readLearnerId(req.headers.cookie)!;
        const renewed = learnerCookie(found.id, secure);
        res.setHeader('Set-Cookie', secure && found.name === LEARNER_COOKIE ? [renewed, expiredCookie(LEARNER_COOKIE, secure)] : renewed);
      }
      const sandbox = manager.status(handle);
      return json(res, 200, { learner: handle.slice(0, 8), sandbox: sandbox.state === 'absent' ? null : sandbox });
    }

    if (path.startsWith('/api/progress')) return progressApi(req, res, path);

    if (path === '/api/forget') {
      if (req.method !== 'POST') return json(res, 405, { error: 'use POST' });
      // As for reset: a cross-site form could post here with the cookie.
      if (!opts.isAllowedOrigin(req.headers.origin)) return json(res, 403, { error: 'origin not allowed' });
      const learner = authenticate(store, req, secure);
      const found = readLearnerId(req.headers.cookie);
      // Every name it may be under, whether or not it still names a learner.
      res.setHeader('Set-Cookie', [expiredCookie(LEARNER_COOKIE, secure), ...(secure ? [expiredCookie(cookieName(true), true)] : [])]);
      if (!learner) {
        res.writeHead(found ? 204 : 401, { 'Cache-Control': 'no-store' });
        return void res.end();
      }
      store.forgetLearner(learner);
      void manager.forget(learner).then(
        () => {
          res.writeHead(204, { 'Cache-Control': 'no-store' });
          res.end();
        },
        () => json(res, 500, { error: 'your record is deleted, but your sandbox could not be removed yet; it is removed when the server next starts' }),
      );
      return;
    }

    if (path.startsWith('/api/')) return json(res, 404, { error: `no such endpoint: ${path}` });

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      return res.end();
    }
    const notFound = (): void => {
      res.statusCode = 404;
      const english = path === '/en' || path.startsWith('/en/');
      const notFoundPage = english && existsSync(notFoundPages.en) ? notFoundPages.en : notFoundPages.ko;
      if (existsSync(notFoundPage)) {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(readFileSync(notFoundPage));
        return;
      }
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(site ? 'Not found' : `The site is not built (${opts.siteDir} is missing): run npm run build`);
    };
    if (!site) return notFound();
    const joinPage = joinPagePath(path); // /join/CODE/: one page, which reads the code from the address
    if (joinPage) req.url = joinPage;
    site(req, res, notFound);
  };
}
