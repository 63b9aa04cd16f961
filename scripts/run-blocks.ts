/**
 * node scripts/run-blocks.ts <lesson> [ko|en]: runs the lesson's runnable blocks in a
 * fresh sandbox, in order, and prints each block's exit status (for lesson authors).
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runLessonBlocks } from './lib/lesson-blocks.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [lesson, lang = 'en'] = process.argv.slice(2);
if (!lesson) {
  console.error('usage: node scripts/run-blocks.ts <lesson-folder> [ko|en]');
  process.exit(2);
}
const results = await runLessonBlocks(join(root, 'content/lessons', lesson, `${lang}.mdx`), process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest');
for (const r of results) {
  const first = r.code.split('\n')[0]!.slice(0, 70);
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} line ${String(r.line).padStart(4)}  exit ${r.exitCode ?? 'hung'}${r.expectFail ? ' (expected to fail)' : ''}  ${first}`);
  if (!r.ok) console.log(r.output.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07/g, '').split('\n').slice(-12).map((l) => `      | ${l}`).join('\n'));
}
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
