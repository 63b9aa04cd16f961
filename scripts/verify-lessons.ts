/**
 * npm run verify:lessons [lesson ...]: proves every exercise's checks fail before
 * and pass after its reference solution, and that one fails after its near miss,
 * each in a fresh sandbox. Prints a table; exits 1 if any exercise fails.
 * BERTH_VERIFY_PARALLEL sets how many sandboxes run at once (an exercise's two run
 * side by side).
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadAllExercises } from '../sandbox-server/src/exercises/load.ts';
import { formatTable, verifyLessons } from './lib/verify-lessons.ts';
import { log } from './lib/run.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const wanted = process.argv.slice(2);
const all = loadAllExercises(join(root, 'content'), root);
for (const w of wanted) {
  if (!all.has(w)) {
    console.error(`no lesson "${w}" with exercises; known: ${[...all.keys()].join(', ') || '(none)'}`);
    process.exit(2);
  }
}
const lessons = wanted.length ? new Map(wanted.map((w) => [w, all.get(w)!])) : all;
const count = [...lessons.values()].reduce((n, f) => n + f.exercises.length, 0);
const parallel = Number(process.env.BERTH_VERIFY_PARALLEL ?? 2);
log('verify', `${count} exercises in ${lessons.size} lessons, ${parallel} at a time`);
const began = Date.now();
const rows = await verifyLessons({
  lessons,
  image: process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest',
  parallel,
  onRow: (r) => log('verify', `${r.ok ? 'PASS' : 'FAIL'} ${r.lesson}/${r.exercise} (${r.seconds.toFixed(1)} s)`),
});
console.log(`\n${formatTable(rows)}\n`);
const failed = rows.filter((r) => !r.ok).length;
console.log(`${rows.length - failed} passed, ${failed} failed (${((Date.now() - began) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
