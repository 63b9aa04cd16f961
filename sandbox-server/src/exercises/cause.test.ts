import { test } from 'node:test';
import assert from 'node:assert/strict';
import { causeNote, editDistance, lastDockerError, nearMissName, plainLine } from './cause.ts';

test('edit distance', () => {
  assert.equal(editDistance('first-hello', 'first_hello'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('a near-miss name is found among existing objects; an exact or distant one is not', () => {
  assert.equal(nearMissName('first-hello', ['web', 'first_hello'], 'containers'), 'first_hello');
  assert.equal(nearMissName('first-hello', ['First-Hello'], 'containers'), 'First-Hello');
  assert.equal(nearMissName('first-hello', ['first-hello', 'first_hello'], 'containers'), undefined, 'the wanted one exists');
  assert.equal(nearMissName('site', ['web', 'nginx'], 'containers'), undefined);
  assert.equal(nearMissName('site', ['sit3'], 'containers'), 'sit3', 'one edit for a short name');
  assert.equal(nearMissName('site', ['s1t3'], 'containers'), undefined, 'two edits is too many for a short name');
  assert.equal(nearMissName('my-tools:v1', ['my-tools:latest', 'debian:trixie-slim'], 'images'), 'my-tools:latest', 'same repository, other tag');
  assert.equal(nearMissName('busybox:1.37', ['<none>:<none>'], 'images'), undefined);
});

test('untrusted text is one capped line without control characters', () => {
  assert.equal(plainLine('a\u001b[31mred\u0007\nb', 100), 'a [31mred b');
  assert.equal(plainLine('x'.repeat(50), 10), `${'x'.repeat(9)}…`);
  assert.deepEqual(lastDockerError('tag debian:trixie-slim my-base:1.0\nError response from daemon: No such image: debian:trixie-slim\n'), {
    command: 'tag debian:trixie-slim my-base:1.0',
    error: 'Error response from daemon: No such image: debian:trixie-slim',
  });
  assert.equal(lastDockerError('only a command\n'), undefined);
  assert.equal(lastDockerError(undefined), undefined);
});

test('the cause note: a did-you-mean and the last error of a command about the same object', () => {
  const container = { type: 'container_exists' as const, name: 'first-hello' };
  assert.match(causeNote(container, { containers: 'first_hello\nweb\n' }, 'en')!, /named 'first_hello': did you mean 'first-hello'\?/);
  assert.match(causeNote(container, { containers: 'first_hello\n' }, 'ko')!, /first_hello/);
  assert.equal(causeNote(container, { containers: 'web\n' }, 'en'), undefined);
  const image = { type: 'image_exists' as const, image: 'my-base:1.0' };
  const lasterr = 'tag debian:trixie-slim my-base:1.0\nError response from daemon: No such image: debian:trixie-slim\n';
  assert.equal(causeNote(image, { images: '', lasterr }, 'en'), 'Your last failed `docker tag debian:trixie-slim my-base:1.0` said: Error response from daemon: No such image: debian:trixie-slim');
  assert.equal(causeNote({ type: 'image_exists', image: 'busybox:1.37' }, { lasterr }, 'en'), undefined, 'an error about another object is not this cause');
  const pull = 'pull busybox:1.99\nError response from daemon: manifest for busybox:1.99 not found: manifest unknown\n';
  assert.match(causeNote({ type: 'image_exists', image: 'busybox:1.37' }, { lasterr: pull }, 'en')!, /manifest for busybox:1\.99 not found/);
  assert.equal(causeNote({ type: 'command_ran', pattern: 'x' }, { lasterr }, 'en'), undefined, 'checks without an object have no such cause');
});
