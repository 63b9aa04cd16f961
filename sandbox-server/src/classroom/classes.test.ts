import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../store.ts';
import { Accounts } from './accounts.ts';
import { CODE_ALPHABET, Classes, cleanDisplayName, newCode, normalizeCode } from './classes.ts';

test('codes use only the unambiguous alphabet, and typing them loosely still works', () => {
  for (let i = 0; i < 200; i++) assert.match(newCode(), new RegExp(`^[${CODE_ALPHABET}]{6}$`));
  for (const c of '01OIL5S8B') assert.ok(!CODE_ALPHABET.includes(c), c);
  assert.equal(normalizeCode('ack-4mq'), 'ACK4MQ');
  assert.equal(normalizeCode('ACK4M'), undefined, 'too short');
  assert.equal(normalizeCode('ACK4M0'), undefined, 'zero is not in the alphabet');
});

test('display names: trimmed, NFC, 1-40 characters, no control or format characters', () => {
  assert.equal(cleanDisplayName('  김   민수 '), '김 민수');
  assert.equal(cleanDisplayName('e\u0301'), '\u00e9', 'NFC');
  assert.equal(cleanDisplayName(''), undefined);
  assert.equal(cleanDisplayName('a'.repeat(40))?.length, 40);
  assert.equal(cleanDisplayName('a'.repeat(41)), undefined);
  assert.equal(cleanDisplayName('가'.repeat(40)), '가'.repeat(40), 'counted in characters, not bytes');
  for (const bad of ['a\u0000b', 'a\u001bb', 'abc\u202e', 'a\u200bb', 'a\ufeffb']) assert.equal(cleanDisplayName(bad), undefined, JSON.stringify(bad));
  assert.equal(cleanDisplayName('<script>alert(1)</script>'), '<script>alert(1)</script>', 'markup is fine: it is rendered as text');
});

test('canWatch and classOfLearner follow membership, ownership and the class ending', () => {
  const store = new Store(':memory:');
  const accounts = new Accounts(store);
  const kim = accounts.add('kim').instructor;
  const lee = accounts.add('lee').instructor;
  const classes = new Classes(store);
  const a = classes.create(kim.id, { name: 'A', lessons: ['00-welcome', '01-x'] });
  const b = classes.create(lee.id, { name: 'B', lessons: ['03-images'] });
  assert.notEqual(a.code, b.code);
  classes.join(a.id, 'learner-1', 'Ada');
  classes.join(b.id, 'learner-2', 'Bo');
  assert.equal(classes.canWatch(kim.id, 'learner-1'), true);
  assert.equal(classes.canWatch(kim.id, 'learner-2'), false, "lee's learner");
  assert.equal(classes.canWatch(lee.id, 'learner-1'), false);
  assert.equal(classes.canWatch(kim.id, 'nobody'), false);
  assert.deepEqual(classes.classOfLearner('learner-1'), { classId: a.id, lessons: ['00-welcome', '01-x'] });
  assert.equal(classes.owned(lee.id, a.id), undefined);
  assert.equal(classes.byCode(a.code)?.id, a.id);
  classes.join(a.id, 'learner-1', 'Ada L.');
  assert.deepEqual(classes.members(a.id).map((m) => m.displayName), ['Ada L.'], 'joining again renames');
  classes.end(a.id);
  assert.equal(classes.canWatch(kim.id, 'learner-1'), false);
  assert.equal(classes.classOfLearner('learner-1'), undefined);
  assert.equal(classes.byCode(a.code), undefined);
  assert.equal(classes.members(a.id).length, 1, 'members stay');
  accounts.remove('lee');
  assert.equal(classes.byId(b.id), undefined, "an instructor's classes go with the account");
});
