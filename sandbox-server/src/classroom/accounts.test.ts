import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../store.ts';
import { Accounts, LINK_LIFETIME_MS, hashPassword, verifyPassword } from './accounts.ts';

test('scrypt hashes verify the right password only, with a salt each', async () => {
  const a = await hashPassword('correct horse battery');
  const b = await hashPassword('correct horse battery');
  assert.notEqual(a, b);
  assert.match(a, /^scrypt\$32768\$8\$3\$/);
  assert.equal(await verifyPassword('correct horse battery', a), true);
  assert.equal(await verifyPassword('correct horse batterY', a), false);
  assert.equal(await verifyPassword('x', 'garbage'), false);
});

test('a login link works once, sets the password, and expires after 24 h', async () => {
  let now = 1_000_000;
  const accounts = new Accounts(new Store(':memory:'), () => now);
  const { token } = accounts.add('kim');
  assert.equal(await accounts.verify('kim', 'whatever-password'), undefined, 'no password before the link is used');
  assert.equal(await accounts.useLink(token, 'short'), undefined, 'too short');
  assert.equal((await accounts.useLink(token, 'long enough pw'))?.name, 'kim');
  assert.equal(await accounts.useLink(token, 'another long pw'), undefined, 'single use');
  assert.equal((await accounts.verify('kim', 'long enough pw'))?.name, 'kim');
  assert.equal(await accounts.verify('kim', 'long enough pX'), undefined);
  assert.equal(await accounts.verify('nobody', 'long enough pw'), undefined);

  const late = accounts.reset('kim');
  assert.equal(await accounts.verify('kim', 'long enough pw'), undefined, 'reset clears the password');
  now += LINK_LIFETIME_MS;
  assert.equal(await accounts.useLink(late, 'long enough pw'), undefined, 'expired');
});

test('names are validated and unique; remove deletes', () => {
  const accounts = new Accounts(new Store(':memory:'));
  assert.throws(() => accounts.add(''), /name/);
  assert.throws(() => accounts.add('a b'), /name/);
  assert.throws(() => accounts.add('<script>'), /name/);
  accounts.add('김선생');
  assert.throws(() => accounts.add('김선생'), /exists/);
  assert.deepEqual(accounts.list().map((i) => [i.name, i.hasPassword, i.sessions]), [['김선생', false, 0]]);
  assert.equal(accounts.remove('김선생'), true);
  assert.equal(accounts.remove('김선생'), false);
});
