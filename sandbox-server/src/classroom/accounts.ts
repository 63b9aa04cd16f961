/**
 * Instructor accounts, made by the operator on the command line (scripts/instructor.ts):
 * no default credentials. An account starts with a one-time login link (single use,
 * 24 h) where the instructor sets a password; passwords are kept as scrypt hashes
 * (node:crypto, no native dependency), link tokens as SHA-256 hashes.
 */
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store.ts';

export const LINK_LIFETIME_MS = 24 * 3600 * 1000;
export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 256;
/** Letters and digits of any script, then also . _ - (names go in URLs and logs). */
const NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,63}$/u;

/** One of OWASP's minimum scrypt settings (N=2^15, r=8, p=3): 32 MiB per hash rather than 2^17's 128 MiB. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 3, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;

function derive(password: string, salt: Buffer, params = SCRYPT): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LEN, params, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Spent on unknown names too, so the answer's timing does not tell which names exist. */
const DUMMY_HASH = hashPassword(randomBytes(16).toString('hex'));

export const tokenHash = (kind: string, token: string): string => createHash('sha256').update(`berth-${kind}:${token}`).digest('hex');

export function validName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD) return `at least ${MIN_PASSWORD} characters`;
  if (password.length > MAX_PASSWORD) return `at most ${MAX_PASSWORD} characters`;
  return undefined;
}

export interface Instructor {
  id: string;
  name: string;
}

export interface InstructorListing extends Instructor {
  createdAt: number;
  hasPassword: boolean;
  sessions: number;
}

export class Accounts {
  private readonly store: Store;
  private readonly now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.store = store;
    this.now = now;
  }

  /** A new account; returns the login-link token (shown once, stored hashed). */
  add(name: string): { instructor: Instructor; token: string } {
    if (!validName(name)) throw new Error('a name is 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
    if (this.byName(name)) throw new Error(`an instructor named ${name} exists already (use reset to issue a new login link)`);
    const instructor = { id: randomUUID(), name };
    return this.store.transaction(() => {
      this.store.db.prepare('INSERT INTO instructors (id, name, created_at) VALUES (?, ?, ?)').run(instructor.id, name, this.now());
      return { instructor, token: this.issueLink(instructor.id) };
    });
  }

  list(): InstructorListing[] {
    const rows = this.store.db
      .prepare(
        `SELECT i.id, i.name, i.created_at AS createdAt, i.password_hash IS NOT NULL AS hasPassword,
                (SELECT COUNT(*) FROM instructor_sessions s WHERE s.instructor = i.id) AS sessions
           FROM instructors i ORDER BY i.name`,
      )
      .all() as unknown as (Omit<InstructorListing, 'hasPassword'> & { hasPassword: number })[];
    return rows.map((r) => ({ ...r, hasPassword: r.hasPassword === 1 }));
  }

  byName(name: string): Instructor | undefined {
    return this.store.db.prepare('SELECT id, name FROM instructors WHERE name = ?').get(name) as Instructor | undefined;
  }

  byId(id: string): Instructor | undefined {
    return this.store.db.prepare('SELECT id, name FROM instructors WHERE id = ?').get(id) as Instructor | undefined;
  }

  /** Deletes the account with its sessions, links and classes (learners keep their own progress). */
  remove(name: string): boolean {
    return this.store.db.prepare('DELETE FROM instructors WHERE name = ?').run(name).changes > 0;
  }

  /** Forgotten password or a leaked session: clears the password, ends every session, issues a new link. */
  reset(name: string): string {
    const found = this.byName(name);
    if (!found) throw new Error(`no instructor named ${name}`);
    return this.store.transaction(() => {
      this.store.db.prepare('UPDATE instructors SET password_hash = NULL WHERE id = ?').run(found.id);
      this.store.db.prepare('DELETE FROM instructor_sessions WHERE instructor = ?').run(found.id);
      this.store.db.prepare('DELETE FROM instructor_links WHERE instructor = ?').run(found.id);
      return this.issueLink(found.id);
    });
  }

  /** Spends a login link (once, before it expires) to set the password. */
  async useLink(token: string, password: string): Promise<Instructor | undefined> {
    if (passwordProblem(password)) return undefined;
    const hash = await hashPassword(password);
    return this.store.transaction(() => {
      const row = this.store.db
        .prepare('SELECT instructor, expires_at AS expiresAt FROM instructor_links WHERE token_hash = ?')
        .get(tokenHash('link', token)) as { instructor: string; expiresAt: number } | undefined;
      if (!row) return undefined;
      this.store.db.prepare('DELETE FROM instructor_links WHERE token_hash = ?').run(tokenHash('link', token));
      if (row.expiresAt <= this.now()) return undefined;
      this.store.db.prepare('UPDATE instructors SET password_hash = ? WHERE id = ?').run(hash, row.instructor);
      return this.byId(row.instructor);
    });
  }

  async verify(name: string, password: string): Promise<Instructor | undefined> {
    const row = this.store.db.prepare('SELECT id, name, password_hash AS hash FROM instructors WHERE name = ?').get(name) as
      | (Instructor & { hash: string | null })
      | undefined;
    if (!row?.hash) {
      await verifyPassword(password, await DUMMY_HASH);
      return undefined;
    }
    return (await verifyPassword(password, row.hash)) ? { id: row.id, name: row.name } : undefined;
  }

  private issueLink(instructorId: string): string {
    const token = randomBytes(24).toString('base64url');
    this.store.db.prepare('DELETE FROM instructor_links WHERE expires_at <= ?').run(this.now());
    this.store.db
      .prepare('INSERT INTO instructor_links (token_hash, instructor, expires_at) VALUES (?, ?, ?)')
      .run(tokenHash('link', token), instructorId, this.now() + LINK_LIFETIME_MS);
    return token;
  }
}

/** The address an operator hands the instructor: the token rides in the fragment, never in logs or Referer. */
export const loginLink = (publicUrl: string, token: string): string => `${publicUrl.replace(/\/$/, '')}/teach/setup/#${token}`;
