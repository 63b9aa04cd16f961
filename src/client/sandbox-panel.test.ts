import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STOP_WARNING_MS, startFailureReference, stopWarning, timeLeft } from './sandbox-panel.ts';
import { t } from '../i18n/strings.ts';

const now = 1_000_000;

test('no warning until the last two minutes before a stop, and only while ready', () => {
  assert.equal(stopWarning({ state: 'ready', idleStopAt: now + STOP_WARNING_MS + 1 }, now), undefined);
  assert.deepEqual(stopWarning({ state: 'ready', idleStopAt: now + STOP_WARNING_MS }, now), { kind: 'idle', at: now + STOP_WARNING_MS });
  assert.equal(stopWarning({ state: 'creating', idleStopAt: now + 1000 }, now), undefined);
  assert.equal(stopWarning({ state: 'ready' }, now), undefined);
});

test('the warning is about whichever stop comes first', () => {
  assert.equal(stopWarning({ state: 'ready', idleStopAt: now + 60_000, maxAgeStopAt: now + 30_000 }, now)?.kind, 'max-age');
  assert.equal(stopWarning({ state: 'ready', idleStopAt: now + 30_000, maxAgeStopAt: now + 60_000 }, now)?.kind, 'idle');
  assert.equal(stopWarning({ state: 'ready', idleStopAt: now + 600_000, maxAgeStopAt: now + 90_000 }, now)?.kind, 'max-age');
});

test('queue and warning text in both languages', () => {
  const en = t('en');
  const ko = t('ko');
  assert.equal(en.queue.position(1), 'You are next in line.');
  assert.equal(en.queue.position(3), 'You are 3rd in line.');
  assert.equal(en.queue.position(12), 'You are 12th in line.');
  assert.equal(en.queue.position(22), 'You are 22nd in line.');
  assert.equal(en.queue.wait(2), 'About 2 minutes.');
  assert.equal(ko.queue.position(3), '대기 순서: 3번째예요.');
  assert.equal(ko.queue.wait(2), '약 2분 뒤에 시작할 것 같아요.');
  assert.match(ko.stopWarning.idle(90), /90초 뒤/);
  assert.match(en.stopWarning.maxAge(60), /60 s/);
});

test('a failed start shows the server log\'s reference, never the engine\'s words', () => {
  assert.equal(startFailureReference('The sandbox could not be started. (reference 1a2b3c4d)'), '1a2b3c4d');
  assert.equal(startFailureReference('(HTTP code 500) server error - mkfs.ext4: /var/lib/docker...'), undefined);
  assert.equal(startFailureReference(undefined), undefined);
});

test('the toolbar and the warning bar tell the same time left', () => {
  const now = 1_000_000;
  assert.deepEqual(timeLeft(now + 90_000, now), { seconds: 90 }, 'inside the warning window: seconds, like the bar');
  assert.deepEqual(timeLeft(now + 81_000, now), { seconds: 90 }, 'rounded up to 10 s');
  assert.deepEqual(timeLeft(now + STOP_WARNING_MS, now), { seconds: 120 });
  assert.deepEqual(timeLeft(now + STOP_WARNING_MS + 60_000, now), { minutes: 3 });
  assert.deepEqual(timeLeft(now - 5000, now), { seconds: 0 });
  const ko = t('ko');
  assert.equal(ko.secondsLeft(90), '90초 남음');
});
