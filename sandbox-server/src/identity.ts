/**
 * Learner identity: a random 128-bit id in an HttpOnly cookie. The server stores
 * and labels only a hash of it (the "handle"), so neither the database, the logs
 * nor the engine's labels hold anything that can be replayed as a cookie.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LEARNER_COOKIE, SECURE_LEARNER_COOKIE } from './protocol.ts';

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

/**
 * Over https the cookie is `__Host-` prefixed: browsers accept it only with Secure,
 * Path=/ and no Domain, so a sibling subdomain cannot plant one (and put a victim
 * in the attacker's sandbox). Plain http (localhost) keeps the plain name.
 */
export const cookieName = (secure: boolean): string => (secure ? SECURE_LEARNER_COOKIE : LEARNER_COOKIE);

/**
 * The learner id a request carries and the cookie it came in. The prefixed name
 * wins; the plain one is still read so learners from before the prefix keep their
 * identity (the session endpoint moves them over).
 */
export function readLearnerId(header: string | undefined): { id: string; name: string } | undefined {
  for (const name of [SECURE_LEARNER_COOKIE, LEARNER_COOKIE]) {
    const id = readCookie(header, name);
    if (id) return { id, name };
  }
  return undefined;
}

/** How long a learner cookie lives without a visit: each visit to the site renews it. */
export const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

export function learnerCookie(id: string, secure: boolean): string {
  const attrs = [`${cookieName(secure)}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${COOKIE_MAX_AGE_S}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

/** A Set-Cookie value that deletes the named learner cookie. */
export function expiredCookie(name: string, secure: boolean): string {
  const attrs = [`${name}=`, 'Path=/', 'HttpOnly', 'SameSite=Lax', 'Max-Age=0'];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}
