import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleOf, isWellFormedId, learnerCookie, newLearnerId, readCookie } from './identity.ts';

test('learner ids are 128-bit random base64url strings', () => {
  const ids = new Set(Array.from({ length: 1000 }, newLearnerId));
  assert.equal(ids.size, 1000);
  for (const id of ids) {
    assert.ok(isWellFormedId(id), id);
    assert.equal(Buffer.from(id, 'base64url').length, 16);
  }
  assert.equal(isWellFormedId('short'), false);
  assert.equal(isWellFormedId('a'.repeat(21) + '!'), false);
});

test('handles are stable, distinct and do not contain the id', () => {
  const id = newLearnerId();
  assert.equal(handleOf(id), handleOf(id));
  assert.notEqual(handleOf(id), handleOf(newLearnerId()));
  assert.match(handleOf(id), /^[0-9a-f]{32}$/);
  assert.ok(!handleOf(id).includes(id));
});

test('cookies are read from a header and written HttpOnly, SameSite', () => {
  assert.equal(readCookie('a=1; berth_learner=xyz; b=2'), 'xyz');
  assert.equal(readCookie('a=1'), undefined);
  assert.equal(readCookie(undefined), undefined);
  const set = learnerCookie('abc', true);
  assert.match(set, /^berth_learner=abc;/);
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Lax/);
  assert.match(set, /Secure/);
  assert.doesNotMatch(learnerCookie('abc', false), /Secure/);
});
