import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lintMarkdown } from './markdown-lint.ts';

test('bold that CommonMark would not close is caught; good bold and code are not', () => {
  assert.deepEqual(lintMarkdown('**가상 머신(VM)**은 좋아요').map((p) => p.line), [1]);
  assert.deepEqual(lintMarkdown('**Client(클라이언트)**는'), [{ line: 1, text: '**Client(클라이언트)**는' }]);
  assert.deepEqual(lintMarkdown('**가상 머신**(VM)은 / **bold** text / **bold.** Next'), []);
  assert.deepEqual(lintMarkdown('`**a.**b` in code\n```sh\necho **x.**y\n```'), []);
});

test('no lesson has bold text that renders with its asterisks', () => {
  const root = new URL('../../content/lessons/', import.meta.url).pathname;
  const problems: string[] = [];
  for (const lesson of readdirSync(root)) {
    for (const file of readdirSync(join(root, lesson)).filter((f) => f.endsWith('.mdx'))) {
      for (const p of lintMarkdown(readFileSync(join(root, lesson, file), 'utf8'))) problems.push(`content/lessons/${lesson}/${file}:${p.line}: ${p.text}`);
    }
  }
  assert.deepEqual(problems, [], 'write **word**(note)은 or <strong>word(note)</strong>은');
});
