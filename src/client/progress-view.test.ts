import { test } from 'node:test';
import assert from 'node:assert/strict';
import { continueTarget, lessonBadge, overallText, parseProgress, type Progress } from './progress-view.ts';
import { t } from '../i18n/strings.ts';

const en = t('en');
const ko = t('ko');

test('parses the progress response and skips what is not one', () => {
  assert.deepEqual(
    parseProgress({
      lessons: {
        '00-welcome': { passed: 2, total: 3, graded: false },
        '09-final': { passed: 1, total: 4, graded: true, score: { passed: 1, total: 4 } },
        bad: { passed: 'two', total: 3 },
        over: { passed: 9, total: 3, graded: false },
      },
    }),
    {
      '00-welcome': { passed: 2, total: 3, graded: false },
      '09-final': { passed: 1, total: 4, graded: true, score: { passed: 1, total: 4 } },
      over: { passed: 3, total: 3, graded: false },
    },
  );
  for (const body of [null, 'x', {}, { lessons: [] }, { lessons: null }]) assert.equal(parseProgress(body), null);
});

test('lesson badges: counts, done mark, graded score, build-time total when the server has nothing', () => {
  assert.deepEqual(lessonBadge({ passed: 2, total: 3, graded: false }, 3, en), { text: '2/3', label: '2 of 3 exercises done', state: 'some' });
  assert.deepEqual(lessonBadge({ passed: 3, total: 3, graded: false }, 3, ko), { text: '✓ 3/3', label: '연습 3개 중 3개 완료', state: 'done' });
  assert.deepEqual(lessonBadge(undefined, 3, en), { text: '0/3', label: '0 of 3 exercises done', state: 'none' });
  assert.equal(lessonBadge(undefined, 0, en), null);
  assert.deepEqual(lessonBadge({ passed: 1, total: 4, graded: true, score: { passed: 1, total: 4 } }, 4, en), {
    text: 'Score 1/4',
    label: 'Score 1/4',
    state: 'some',
  });
});

test('overall sentence', () => {
  assert.equal(overallText({}, { a: 3 }, en), 'No exercises finished yet.');
  assert.equal(overallText({ a: { passed: 2, total: 3, graded: false } }, { a: 3, b: 2 }, en), 'You have finished 2 of 5 exercises.');
  assert.equal(overallText({ a: { passed: 2, total: 3, graded: false } }, { a: 3 }, ko), '연습 문제 3개 중 2개를 마쳤어요.');
});

test('continue: the last lesson opened, or the first unfinished one after it', () => {
  const lessons = [
    { slug: '00-welcome', total: 2 },
    { slug: '01-vms', total: 0 },
    { slug: '02-how', total: 3 },
    { slug: '03-images', total: 2 },
  ];
  const p = (passed: Record<string, number>): Progress =>
    Object.fromEntries(Object.entries(passed).map(([slug, n]) => [slug, { passed: n, total: lessons.find((l) => l.slug === slug)!.total, graded: false }]));
  assert.equal(continueTarget(lessons, {}, undefined), undefined, 'a new learner: the list is the start');
  assert.deepEqual(continueTarget(lessons, {}, '02-how'), { slug: '02-how', kind: 'continue' });
  assert.deepEqual(continueTarget(lessons, p({ '02-how': 1 }), '02-how'), { slug: '02-how', kind: 'continue' });
  assert.deepEqual(continueTarget(lessons, p({ '00-welcome': 2, '02-how': 3 }), '02-how'), { slug: '03-images', kind: 'next' });
  assert.deepEqual(continueTarget(lessons, p({ '02-how': 3, '03-images': 2 }), '03-images'), { slug: '00-welcome', kind: 'next' }, 'then an earlier unfinished one');
  assert.deepEqual(continueTarget(lessons, p({ '00-welcome': 2 }), undefined), { slug: '01-vms', kind: 'next' }, 'progress but nothing opened here: first unfinished');
  assert.deepEqual(continueTarget(lessons, p({ '00-welcome': 2 }), 'gone-lesson'), { slug: '01-vms', kind: 'next' }, 'a lesson that no longer exists is ignored');
  const allDone = lessons.filter((l) => l.total > 0);
  assert.equal(continueTarget(allDone, p({ '00-welcome': 2, '02-how': 3, '03-images': 2 }), '03-images'), undefined, 'all finished');
});
