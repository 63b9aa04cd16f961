/**
 * The classroom's HTTP surface as declared routes: method, path, who may call it,
 * the body's schema and the rate limits sit beside each handler, and one
 * dispatcher applies them in order (Origin, session, CSRF, body, limits) so no
 * handler can forget one. Small on purpose: the classroom needs a dozen routes,
 * which do not justify moving the whole server onto a framework while two
 * branches change http.ts at once; the table is the shape a later move to Fastify
 * would take (its route options hold the same things).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Instructor } from './accounts.ts';
import { type RateLimiter, limitKey, retryAfterSeconds } from '../rate-limit.ts';

export const MAX_BODY_BYTES = 16 * 1024;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
}

export interface RouteContext<B> {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  body: B;
  /** Set on routes with auth 'instructor'. */
  instructor: Instructor;
  address: string;
}

export interface Limit<B> {
  limiter: RateLimiter | undefined;
  /** The bucket's key; default: the client address. */
  key?: (ctx: RouteContext<B>) => string;
  what: string;
}

export interface Route<B = unknown> {
  method: 'GET' | 'POST';
  /** Segments; ':name' matches one segment into params.name. */
  path: string;
  /** 'instructor': a live instructor session (and on POST its CSRF token); 'public': anyone. */
  auth: 'instructor' | 'public';
  body?: z.ZodType<B>;
  limits?: Limit<B>[];
  /** A Reply is sent as JSON; 'sent' means the handler wrote the response itself. */
  handle(ctx: RouteContext<B>): Reply | 'sent' | Promise<Reply | 'sent'>;
}

export const route = <B>(r: Route<B>): Route<unknown> => r as Route<unknown>;

export interface RouterDeps {
  isAllowedOrigin: (origin: string | undefined) => boolean;
  clientAddress: (req: IncomingMessage) => string;
  instructorOf: (req: IncomingMessage) => Instructor | undefined;
  csrfValid: (req: IncomingMessage) => boolean;
  onError: (err: unknown) => void;
}

function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i]!.startsWith(':')) {
      if (!got[i]) return undefined;
      try {
        params[want[i]!.slice(1)] = decodeURIComponent(got[i]!);
      } catch {
        return undefined; // a malformed %-escape names nothing
      }
    } else if (want[i] !== got[i]) return undefined;
  }
  return params;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

/** Returns a handler that answers a request when one of `routes` owns its path, else returns false. */
export function createRouter(routes: Route[], deps: RouterDeps): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  return (req, res, path) => {
    const matches = routes.flatMap((r) => {
      const params = match(r.path, path);
      return params ? [{ r, params }] : [];
    });
    if (!matches.length) return false;
    const found = matches.find((m) => m.r.method === req.method || (m.r.method === 'GET' && req.method === 'HEAD'));
    if (!found) {
      sendJson(res, 405, { error: `use ${[...new Set(matches.map((m) => m.r.method))].join(' or ')}` }, { Allow: matches.map((m) => m.r.method).join(', ') });
      return true;
    }
    void dispatch(found.r, found.params, req, res, deps).catch((err: unknown) => {
      deps.onError(err);
      sendJson(res, 500, { error: 'internal error' });
    });
    return true;
  };
}

async function dispatch(r: Route, params: Record<string, string>, req: IncomingMessage, res: ServerResponse, deps: RouterDeps): Promise<void> {
  const changes = r.method !== 'GET';
  // A cross-site page could post here with the cookies: only our own pages may.
  if (changes && !deps.isAllowedOrigin(req.headers.origin)) return sendJson(res, 403, { error: 'origin not allowed' });
  let instructor: Instructor | undefined;
  if (r.auth === 'instructor') {
    instructor = deps.instructorOf(req);
    if (!instructor) return sendJson(res, 401, { error: 'log in as an instructor first' });
    if (changes && !deps.csrfValid(req)) return sendJson(res, 403, { error: 'missing or wrong CSRF token: reload the page' });
  }
  let body: unknown;
  if (changes) {
    // A JSON content type cannot be sent cross-site without a CORS preflight (which we never grant).
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return sendJson(res, 415, { error: 'send JSON (Content-Type: application/json)' });
    const text = await readBody(req);
    if (text === undefined) return sendJson(res, 413, { error: `the body is over ${MAX_BODY_BYTES} bytes` });
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      return sendJson(res, 400, { error: 'the body is not JSON' });
    }
    if (r.body) {
      const checked = r.body.safeParse(parsed);
      if (!checked.success) return sendJson(res, 400, { error: checked.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
      body = checked.data;
    }
  }
  const ctx: RouteContext<unknown> = { req, res, params, body, instructor: instructor!, address: deps.clientAddress(req) };
  for (const limit of r.limits ?? []) {
    const taken = limit.limiter?.take(limit.key ? limit.key(ctx) : limitKey(ctx.address)) ?? { ok: true };
    if (!taken.ok) {
      const seconds = retryAfterSeconds(taken.retryAfterMs);
      return sendJson(res, 429, { error: `too many ${limit.what}; retry in ${seconds} s`, retryAfter: seconds }, { 'Retry-After': String(seconds) });
    }
  }
  const reply = await r.handle(ctx);
  if (reply !== 'sent') sendJson(res, reply.status, reply.body, reply.headers);
}
