/**
 * The lesson verifier on the real lessons (every exercise: checks fail before,
 * pass after the reference solution, each in a fresh sandbox), and proof that it
 * catches broken exercises.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadAllExercises } from '../../sandbox-server/src/exercises/load.ts';
import { formatTable, verifyLessons } from '../../scripts/lib/verify-lessons.ts';
import { writeLessons } from '../helpers/lessons.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const image = process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest';

test('every exercise of every lesson verifies', async () => {
  const lessons = loadAllExercises(join(root, 'content'), root);
  assert.ok(lessons.size >= 1, 'there are lessons with exercises');
  const rows = await verifyLessons({ lessons, image, parallel: 2 });
  console.log(formatTable(rows).replace(/^/gm, '# '));
  const expected = [...lessons.values()].reduce((n, f) => n + f.exercises.length, 0);
  assert.equal(rows.length, expected);
  assert.deepEqual(rows.filter((r) => !r.ok).map((r) => `${r.lesson}/${r.exercise}`), []);
});

test('the verifier fails an exercise whose check passes too early, whose solution does not work, or whose near miss passes', async () => {
  const content = writeLessons({
    '98-broken': `
exercises:
  - id: too-easy
    title: { ko: 너무 쉬움, en: Too easy }
    checks:
      - type: file_exists
        path: .profile
      - type: file_exists
        path: made.txt
    solution: touch made.txt
    near_miss: "true"
  - id: wrong-solution
    title: { ko: 틀린 답, en: Wrong solution }
    checks:
      - type: network_exists
        name: right-net
    solution: docker network create wrong-net
    near_miss: "true"
  - id: loose-check
    title: { ko: 너무 느슨함, en: Too loose }
    checks:
      - type: container_exists
        name: keeper
    solution: docker run -d --name keeper busybox sleep 3600
    near_miss: docker run --name keeper busybox
`,
  });
  const rows = await verifyLessons({ lessons: loadAllExercises(content, content), image, parallel: 2 });
  const byId = Object.fromEntries(rows.map((r) => [r.exercise, r]));
  assert.equal(byId['too-easy']!.ok, false);
  assert.deepEqual(byId['too-easy']!.passedBefore, ['0:file_exists']);
  assert.equal(byId['wrong-solution']!.ok, false);
  assert.equal(byId['wrong-solution']!.solutionExit, 0);
  assert.equal(byId['wrong-solution']!.failedAfter.length, 1);
  assert.match(byId['wrong-solution']!.failedAfter[0]!, /right-net/);
  // "Runs in the background" checked as "exists": the exited near miss passes, and that is flagged.
  assert.equal(byId['loose-check']!.ok, false);
  assert.deepEqual([byId['loose-check']!.passedBefore, byId['loose-check']!.failedAfter, byId['loose-check']!.nearMissFailed], [[], [], []]);
  assert.equal(byId['too-easy']!.nearMissFailed.length > 0, true, 'the "true" near miss leaves made.txt missing');
  assert.match(formatTable(rows), /no: every check passed/);
});
