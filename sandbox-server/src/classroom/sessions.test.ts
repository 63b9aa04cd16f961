import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Store } from '../store.ts';
import { Accounts } from './accounts.ts';
import { Sessions } from './sessions.ts';

const HOUR = 3_600_000;
const req = (cookie: string, headers: Record<string, string> = {}) => ({ headers: { cookie, ...headers } }) as unknown as IncomingMessage;

function setup(secure = false) {
  let now = 10 * HOUR;
  const store = new Store(':memory:');
  const { instructor } = new Accounts(store).add('kim');
  const sessions = new Sessions(store, { secure, idleMs: 12 * HOUR, maxMs: 7 * 24 * HOUR, now: () => now });
  return { store, instructor, sessions, advance: (ms: number) => (now += ms) };
}

test('a session cookie is HttpOnly, SameSite=Strict, and over https __Host- and Secure', () => {
  const a = setup();
  const plain = a.sessions.create(a.instructor.id).setCookie;
  assert.match(plain, /^berth_teach=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/);
  const b = setup(true);
  const secure = b.sessions.create(b.instructor.id).setCookie;
  assert.match(secure, /^__Host-berth_teach=.*; Secure$/);
});

test('the store keeps only a hash of the session token', () => {
  const { store, instructor, sessions } = setup();
  const cookie = sessions.create(instructor.id).setCookie.split(';')[0]!;
  const token = cookie.split('=')[1]!;
  const rows = store.db.prepare('SELECT token_hash FROM instructor_sessions').all() as { token_hash: string }[];
  assert.equal(rows.length, 1);
  assert.ok(!rows[0]!.token_hash.includes(token));
});

test('sessions end after the idle time, and after the absolute time however active', () => {
  const { instructor, sessions, advance } = setup();
  const cookie = sessions.create(instructor.id).setCookie.split(';')[0]!;
  assert.equal(sessions.instructorOf(req(cookie))?.name, 'kim');
  advance(11 * HOUR);
  assert.equal(sessions.instructorOf(req(cookie))?.name, 'kim', 'used within the idle time');
  advance(12 * HOUR);
  assert.equal(sessions.instructorOf(req(cookie)), undefined, 'idle for 12 h');

  const active = sessions.create(instructor.id).setCookie.split(';')[0]!;
  for (let h = 0; h < 7 * 24 - 1; h += 6) {
    advance(6 * HOUR);
    if (h + 6 < 7 * 24) assert.equal(sessions.instructorOf(req(active))?.name, 'kim', `hour ${h + 6}`);
  }
  advance(6 * HOUR);
  assert.equal(sessions.instructorOf(req(active)), undefined, 'past 7 days');
});

test('forged tokens and wrong CSRF tokens are refused; logout ends the session', () => {
  const { instructor, sessions } = setup();
  const { setCookie, csrf } = sessions.create(instructor.id);
  const cookie = setCookie.split(';')[0]!;
  assert.equal(sessions.instructorOf(req('berth_teach=AAAAAAAAAAAAAAAAAAAAAA')), undefined);
  assert.equal(sessions.instructorOf(req('berth_teach=not a token')), undefined);
  assert.equal(sessions.csrfValid(req(cookie, { 'x-berth-csrf': csrf })), true);
  assert.equal(sessions.csrfValid(req(cookie, { 'x-berth-csrf': csrf.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) })), false);
  assert.equal(sessions.csrfValid(req(cookie)), false);
  const other = sessions.create(instructor.id);
  assert.equal(sessions.csrfValid(req(cookie, { 'x-berth-csrf': other.csrf })), false, "another session's token");
  assert.match(sessions.end(req(cookie)), /Max-Age=0/);
  assert.equal(sessions.instructorOf(req(cookie)), undefined);
});
