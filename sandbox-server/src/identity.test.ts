import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleOf, isWellFormedId, learnerCookie, newLearnerId, readCookie, readLearnerId, expiredCookie } from './identity.ts';

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
  assert.match(learnerCookie('abc', false), /^berth_learner=abc;/);
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Lax/);
  assert.match(set, /Secure/);
  assert.doesNotMatch(learnerCookie('abc', false), /Secure/);
});

test('over https the cookie is __Host- prefixed (Secure, Path=/, no Domain), lives 30 days, and the old name is still read', () => {
  const set = learnerCookie('abc', true);
  assert.match(set, /^__Host-berth_learner=abc;/);
  assert.match(set, /; Path=\/;/);
  assert.doesNotMatch(set, /Domain=/i);
  assert.match(set, new RegExp(`Max-Age=${30 * 24 * 3600}(;|$)`));
  assert.match(learnerCookie('abc', false), /^berth_learner=abc;/, 'plain http keeps the plain name (browsers refuse __Host- without https)');
  assert.deepEqual(readLearnerId('berth_learner=old'), { id: 'old', name: 'berth_learner' });
  assert.deepEqual(readLearnerId('berth_learner=planted; __Host-berth_learner=mine'), { id: 'mine', name: '__Host-berth_learner' }, 'the prefixed one wins');
  assert.equal(readLearnerId('other=1'), undefined);
  assert.match(expiredCookie('berth_learner', true), /^berth_learner=; .*Max-Age=0/);
});
