/**
 * Every runnable block of every lesson, in both languages, works in a real
 * sandbox exactly as written: typed in order into a fresh sandbox's shell, each
 * exits 0, except blocks marked expect-fail, which must fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runLessonBlocks, runnableBlocks } from '../../scripts/lib/lesson-blocks.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const image = process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest';
const lessons = readdirSync(join(root, 'content/lessons')).sort();

test('the block extractor reads flags and skips plain blocks', () => {
  const blocks = runnableBlocks('x\n```sh run\ndocker ps\n```\n```sh\nnot me\n```\n```sh run expect-fail\nbad\nworse\n```\n```sh run interactive\nsh\n```\n');
  assert.deepEqual(
    blocks.map((b) => [b.code, b.expectFail, b.interactive]),
    [
      ['docker ps', false, false],
      ['bad\nworse', true, false],
      ['sh', false, true],
    ],
  );
});

for (const lesson of lessons) {
  for (const lang of ['ko', 'en'] as const) {
    test(`${lesson} (${lang}): every runnable block works as written`, async () => {
      const results = await runLessonBlocks(join(root, 'content/lessons', lesson, `${lang}.mdx`), image);
      assert.ok(results.length > 0, 'the lesson has runnable blocks');
      const failed = results.filter((r) => !r.ok).map((r) => `line ${r.line}: exit ${r.exitCode ?? 'hung'}${r.expectFail ? ' (should fail)' : ''}: ${r.code.split('\n')[0]}`);
      assert.deepEqual(failed, []);
    });
  }
}
