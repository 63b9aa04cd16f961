import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lessonLinks, lintMarkdown } from './markdown-lint.ts';

test('bold that CommonMark would not close is caught; good bold and code are not', () => {
  assert.deepEqual(lintMarkdown('**가상 머신(VM)**은 좋아요').map((p) => p.line), [1]);
  assert.deepEqual(lintMarkdown('**Client(클라이언트)**는'), [{ line: 1, text: '**Client(클라이언트)**는' }]);
  assert.deepEqual(lintMarkdown('**가상 머신**(VM)은 / **bold** text / **bold.** Next'), []);
  assert.deepEqual(lintMarkdown('`**a.**b` in code\n```sh\necho **x.**y\n```'), []);
});

test('a typographic dash where a flag was meant is caught; dashes between words and in code are not', () => {
  assert.deepEqual(lintMarkdown('## Foreground, –rm, ps -a, —quiet').map((p) => p.text.slice(0, 3)), ['–rm', '—qu']);
  assert.deepEqual(lintMarkdown('(–name web)').map((p) => p.line), [1]);
  assert.deepEqual(lintMarkdown('word—word, 1–2, a – b, `–name`, --name\n```\n–x\n```'), []);
});

test('lesson links are found in Markdown links and href attributes', () => {
  const mdx = 'See [lesson 5](/lessons/05-volumes/) and [five](/en/lessons/05-volumes/#top).\n<a href="/lessons/06-networks/">six</a> [home](/en/) [ext](https://example.com/lessons/x/)';
  assert.deepEqual(
    lessonLinks(mdx).map((l) => `${l.line}:${l.slug}`),
    ['1:05-volumes', '1:05-volumes', '2:06-networks'],
  );
});

const lessonsRoot = new URL('../../content/lessons/', import.meta.url).pathname;

test('every lesson link in a lesson points to a lesson folder that exists', () => {
  const folders = new Set(readdirSync(lessonsRoot));
  const broken: string[] = [];
  for (const lesson of folders) {
    for (const file of readdirSync(join(lessonsRoot, lesson)).filter((f) => f.endsWith('.mdx'))) {
      for (const l of lessonLinks(readFileSync(join(lessonsRoot, lesson, file), 'utf8'))) {
        if (!folders.has(l.slug)) broken.push(`content/lessons/${lesson}/${file}:${l.line}: ${l.href}`);
      }
    }
  }
  assert.deepEqual(broken, [], 'link to lessons that exist (content/lessons/<folder>)');
});

test('only the last lesson may say the next one is coming soon', () => {
  const folders = readdirSync(lessonsRoot).sort();
  const stale: string[] = [];
  for (const lesson of folders.slice(0, -1)) {
    for (const file of readdirSync(join(lessonsRoot, lesson)).filter((f) => f.endsWith('.mdx'))) {
      const text = readFileSync(join(lessonsRoot, lesson, file), 'utf8');
      if (/coming soon|아직 준비 중이니/i.test(text)) stale.push(`content/lessons/${lesson}/${file}`);
    }
  }
  assert.deepEqual(stale, [], 'a later lesson exists: link to it');
});

test('no lesson has bold text that renders with its asterisks', () => {
  const root = lessonsRoot;
  const problems: string[] = [];
  for (const lesson of readdirSync(root)) {
    for (const file of readdirSync(join(root, lesson)).filter((f) => f.endsWith('.mdx'))) {
      for (const p of lintMarkdown(readFileSync(join(root, lesson, file), 'utf8'))) problems.push(`content/lessons/${lesson}/${file}:${p.line}: ${p.text}`);
    }
  }
  assert.deepEqual(problems, [], 'write **word**(note)은 or <strong>word(note)</strong>은; a flag is --name, not –name');
});
