/**
 * Learner identity: a random 128-bit id in an HttpOnly cookie. The server stores
 * and labels only a hash of it (the "handle"), so neither the database, the logs
 * nor the engine's labels hold anything that can be replayed as a cookie.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LEARNER_COOKIE } from './protocol.ts';

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/; // 16 bytes, base64url

export function newLearnerId(): string {
  return randomBytes(16).toString('base64url');
}

export function isWellFormedId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Stable, non-reversible name for a learner: used in the store, labels and logs. */
export function handleOf(id: string): string {
  return createHash('sha256').update(`berth-learner:${id}`).digest('hex').slice(0, 32);
}

/** Value of one cookie from a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string = LEARNER_COOKIE): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function learnerCookie(id: string, secure: boolean): string {
  const attrs = [`${LEARNER_COOKIE}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${365 * 24 * 3600}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}
