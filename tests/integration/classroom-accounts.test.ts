/**
 * Instructor accounts against a real server: the operator's command prints a
 * one-time link, the instructor sets a password, logs in and out; forged,
 * cross-site and CSRF-less requests, reused links, reset accounts and password
 * guessing are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { instructorCommand, linkToken, newInstructor, post } from '../helpers/classroom.ts';

describe('instructor accounts', () => {
  let berth: TestBerth;
  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off' }));
  });
  after(async () => {
    await berth?.destroy();
  });

  test('the login link sets a password once, and issues a strict HttpOnly session cookie', async () => {
    const out = instructorCommand(berth, 'add', 'park');
    assert.match(out, new RegExp(`${berth.origin}/teach/setup/#`));
    const token = linkToken(out);
    assert.equal((await post(berth, '/api/teach/setup', { token, password: 'short' })).status, 400, 'too short (the link stays usable)');
    const res = await post(berth, '/api/teach/setup', { token, password: 'a long enough password' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('set-cookie') ?? '', /^berth_teach=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const me = await fetch(`${berth.origin}/api/teach/me`, { headers: { Cookie: cookie } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { name: string }).name, 'park');
    assert.equal((await post(berth, '/api/teach/setup', { token, password: 'a long enough password' })).status, 400, 'used');
    assert.match(instructorCommand(berth, 'list'), /^park\tpassword set\t1 session/m);
  });

  test('login, logout, and what a request without the cookie, Origin or CSRF token gets', async () => {
    const kim = await newInstructor(berth, 'kim');
    assert.equal((await fetch(`${berth.origin}/api/teach/me`)).status, 401);
    assert.equal((await fetch(`${berth.origin}/api/teach/me`, { headers: { Cookie: 'berth_teach=AAAAAAAAAAAAAAAAAAAAAA' } })).status, 401, 'forged');
    assert.equal((await post(berth, '/api/teach/logout', {}, { Cookie: kim.cookie })).status, 403, 'no CSRF token');
    assert.equal((await post(berth, '/api/teach/logout', {}, { Cookie: kim.cookie, 'X-Berth-CSRF': 'x'.repeat(43) })).status, 403, 'wrong token');
    const crossSite = await fetch(`${berth.origin}/api/teach/logout`, {
      method: 'POST',
      headers: { Origin: 'https://evil.example', Cookie: kim.cookie, 'X-Berth-CSRF': kim.csrf, 'Content-Type': 'application/json' },
      body: '{}',
    });
    assert.equal(crossSite.status, 403, 'cross-site');
    const form = await fetch(`${berth.origin}/api/teach/login`, {
      method: 'POST',
      headers: { Origin: berth.origin, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'name=kim&password=a+long+enough+password',
    });
    assert.equal(form.status, 415, 'a form post (no preflight) is refused');
    assert.equal((await kim.get('/api/teach/me')).status, 200, 'still logged in');

    assert.equal((await kim.post('/api/teach/logout')).status, 204);
    assert.equal((await kim.get('/api/teach/me')).status, 401, 'logged out');

    assert.equal((await post(berth, '/api/teach/login', { name: 'kim', password: 'wrong password!' })).status, 401);
    const login = await post(berth, '/api/teach/login', { name: 'kim', password: 'a long enough password' });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    assert.equal((await fetch(`${berth.origin}/api/teach/me`, { headers: { Cookie: cookie } })).status, 200);

    instructorCommand(berth, 'reset', 'kim');
    assert.equal((await fetch(`${berth.origin}/api/teach/me`, { headers: { Cookie: cookie } })).status, 401, 'reset ends sessions');
    assert.equal((await post(berth, '/api/teach/login', { name: 'kim', password: 'a long enough password' })).status, 401, 'reset clears the password');
  });

  test('password guessing is limited per account', async () => {
    await newInstructor(berth, 'lee');
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await post(berth, '/api/teach/login', { name: 'lee', password: `guess number ${i}` })).status);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.equal(statuses[11], 429);
    const right = await post(berth, '/api/teach/login', { name: 'lee', password: 'a long enough password' });
    assert.equal(right.status, 429, 'even the right password waits');
    assert.ok(Number(right.headers.get('retry-after')) >= 1);
  });
});
