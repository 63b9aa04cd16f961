/**
 * Instructor sessions: a random 128-bit token in an HttpOnly, SameSite=Strict cookie
 * (Secure and __Host- prefixed over https, as learner cookies), stored only as a
 * hash. A session ends after `idleMs` without a request, after `maxMs` in any case,
 * at logout, or when the operator resets the account.
 *
 * CSRF: every state-changing request carries the session's CSRF token in a header;
 * the token is a hash of the cookie's secret, so a page on another site, which can
 * neither read the cookie nor our responses, cannot produce it.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store.ts';
import { readCookie } from '../identity.ts';
import { type Instructor, tokenHash } from './accounts.ts';

export const INSTRUCTOR_COOKIE = 'berth_teach';
export const SECURE_INSTRUCTOR_COOKIE = '__Host-berth_teach';
export const CSRF_HEADER = 'x-berth-csrf';
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** last_used_at is written at most this often (a grid page polls nothing, but every request would write). */
const TOUCH_EVERY_MS = 60_000;

export interface SessionOptions {
  secure: boolean;
  idleMs: number;
  maxMs: number;
  now?: () => number;
}

export class Sessions {
  private readonly store: Store;
  private readonly opts: SessionOptions;
  private readonly now: () => number;

  constructor(store: Store, opts: SessionOptions) {
    this.store = store;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  get cookieName(): string {
    return this.opts.secure ? SECURE_INSTRUCTOR_COOKIE : INSTRUCTOR_COOKIE;
  }

  /** A new session: the Set-Cookie value and its CSRF token. */
  create(instructorId: string): { setCookie: string; csrf: string } {
    const token = randomBytes(16).toString('base64url');
    const t = this.now();
    this.store.db.prepare('DELETE FROM instructor_sessions WHERE last_used_at <= ? OR created_at <= ?').run(t - this.opts.idleMs, t - this.opts.maxMs);
    this.store.db
      .prepare('INSERT INTO instructor_sessions (token_hash, instructor, created_at, last_used_at) VALUES (?, ?, ?, ?)')
      .run(tokenHash('instructor-session', token), instructorId, t, t);
    return { setCookie: this.cookie(token, Math.floor(this.opts.maxMs / 1000)), csrf: csrfOf(token) };
  }

  /** The instructor whose live session the request carries (the contract watch* builds on). */
  instructorOf(req: IncomingMessage): Instructor | undefined {
    const token = this.token(req);
    if (!token) return undefined;
    const hash = tokenHash('instructor-session', token);
    const row = this.store.db
      .prepare(
        `SELECT i.id, i.name, s.created_at AS createdAt, s.last_used_at AS lastUsedAt
           FROM instructor_sessions s JOIN instructors i ON i.id = s.instructor WHERE s.token_hash = ?`,
      )
      .get(hash) as (Instructor & { createdAt: number; lastUsedAt: number }) | undefined;
    if (!row) return undefined;
    const t = this.now();
    if (t - row.lastUsedAt >= this.opts.idleMs || t - row.createdAt >= this.opts.maxMs) {
      this.store.db.prepare('DELETE FROM instructor_sessions WHERE token_hash = ?').run(hash);
      return undefined;
    }
    if (t - row.lastUsedAt >= TOUCH_EVERY_MS) this.store.db.prepare('UPDATE instructor_sessions SET last_used_at = ? WHERE token_hash = ?').run(t, hash);
    return { id: row.id, name: row.name };
  }

  /** The CSRF token of the request's session (given to our own page by GET /api/teach/me). */
  csrfOf(req: IncomingMessage): string | undefined {
    const token = this.token(req);
    return token ? csrfOf(token) : undefined;
  }

  /** Whether the request's CSRF header matches its session cookie. */
  csrfValid(req: IncomingMessage): boolean {
    const expected = this.csrfOf(req);
    const got = req.headers[CSRF_HEADER];
    if (!expected || typeof got !== 'string' || got.length !== expected.length) return false;
    return timingSafeEqual(Buffer.from(got), Buffer.from(expected));
  }

  /** Logout: ends the request's session; returns the Set-Cookie that clears it. */
  end(req: IncomingMessage): string {
    const token = this.token(req);
    if (token) this.store.db.prepare('DELETE FROM instructor_sessions WHERE token_hash = ?').run(tokenHash('instructor-session', token));
    return this.cookie('', 0);
  }

  private token(req: IncomingMessage): string | undefined {
    const token = readCookie(req.headers.cookie, this.cookieName);
    return token && TOKEN_PATTERN.test(token) ? token : undefined;
  }

  private cookie(value: string, maxAgeS: number): string {
    const attrs = [`${this.cookieName}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeS}`];
    if (this.opts.secure) attrs.push('Secure');
    return attrs.join('; ');
  }
}

const csrfOf = (token: string): string => tokenHash('instructor-csrf', token).slice(0, 43);
