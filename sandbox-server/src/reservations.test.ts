import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESERVATION_LEAD_MS, Reservations, validateReservation } from './reservations.ts';

const HOUR = 3_600_000;
const at = (startsAt: number, count = 3) => ({ id: 'c', count, startsAt, endsAt: startsAt + HOUR, images: ['nginx'] });

test('a reservation warms from its lead time until its window ends', () => {
  const r = new Reservations();
  const t0 = 1_000_000_000;
  r.set(at(t0));
  assert.equal(r.isActive('c', t0 - RESERVATION_LEAD_MS - 1), false);
  assert.equal(r.isActive('c', t0 - RESERVATION_LEAD_MS), true);
  assert.equal(r.isActive('c', t0 + HOUR - 1), true);
  assert.equal(r.isActive('c', t0 + HOUR), false);
  assert.deepEqual(r.prune(t0 + HOUR - 1), []);
  assert.deepEqual(r.prune(t0 + HOUR), ['c']);
  assert.equal(r.get('c'), undefined);
});

test('the shortest reservation is filled first, and arrivals shrink what it needs', () => {
  const r = new Reservations();
  const t0 = 1_000_000_000;
  r.set({ ...at(t0, 3), id: 'a' });
  r.set({ ...at(t0, 2), id: 'b' });
  const pooled = new Map([['a', 1], ['b', 0]]);
  assert.equal(r.nextToFill(t0, (id) => pooled.get(id) ?? 0)?.id, 'a', 'both are 2 short, starting at the same time: the first booked');
  pooled.set('a', 2);
  assert.equal(r.nextToFill(t0, (id) => pooled.get(id) ?? 0)?.id, 'b', 'b is 2 short, a 1');
  r.recordClaim('b', t0);
  r.recordClaim('b', t0);
  assert.equal(r.get('b')?.claimed, 2);
  assert.equal(r.nextToFill(t0, (id) => pooled.get(id) ?? 0)?.id, 'a', "b's learners all arrived");
  pooled.set('a', 3);
  assert.equal(r.nextToFill(t0, (id) => pooled.get(id) ?? 0), undefined, 'all have enough');
  r.set({ ...at(t0, 4), id: 'b' });
  assert.equal(r.get('b')?.claimed, 2, 're-booking keeps the claims');
});

test('claims outside the window do not count', () => {
  const r = new Reservations();
  const t0 = 1_000_000_000;
  r.set(at(t0));
  r.recordClaim('c', t0 - RESERVATION_LEAD_MS - 1);
  r.recordClaim('nobody', t0);
  assert.equal(r.get('c')?.claimed, 0);
});

test('bad reservations are refused with the reason', () => {
  const now = 1_000_000_000;
  assert.equal(validateReservation(at(now), now, 30), undefined);
  assert.match(validateReservation({ ...at(now), count: 0 }, now, 30)!, /at least 1/);
  assert.match(validateReservation({ ...at(now), count: 2.5 }, now, 30)!, /whole number/);
  assert.match(validateReservation({ ...at(now), count: 31 }, now, 30)!, /at most 30/);
  assert.match(validateReservation({ ...at(now), endsAt: now }, now, 30)!, /end after/);
  assert.match(validateReservation(at(now - 2 * HOUR), now, 30)!, /already over/);
  assert.match(validateReservation({ ...at(now), images: Array(9).fill('nginx') }, now, 30)!, /at most 8 images/);
  for (const bad of ['', 'nginx latest', '$(id)', 'Nginx', '-q', 'nginx:', 'a'.repeat(300)]) {
    assert.match(validateReservation({ ...at(now), images: [bad] }, now, 30)!, /not an image reference/, bad);
  }
  for (const good of ['nginx', 'redis:8', 'localhost:5000/me/app:v1', 'debian:trixie-slim', `nginx@sha256:${'a'.repeat(64)}`]) {
    assert.equal(validateReservation({ ...at(now), images: [good] }, now, 30), undefined, good);
  }
});
