/**
 * Lesson diagrams carry their drawing width (`width="760"`), wider than the lesson
 * column at desktop and phone widths: each must shrink to its column, not be cropped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startE2E, type E2E } from '../helpers/browser.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lessons = readdirSync(join(root, 'content/lessons')).sort();
// Only pages with a diagram; the page is read without waiting for its terminal.
const pages = lessons.flatMap((l) =>
  (['ko', 'en'] as const)
    .filter((lang) => /<img\s/.test(readFileSync(join(root, 'content/lessons', l, `${lang}.mdx`), 'utf8')))
    .map((lang) => (lang === 'ko' ? `/lessons/${l}/` : `/en/lessons/${l}/`)),
);

let e2e: E2E | undefined;
before(async () => {
  e2e = await startE2E();
});
after(() => e2e?.close());

test('some lesson has a diagram', () => {
  assert.ok(pages.length > 0);
});

for (const width of [390, 1400]) {
  test(`every diagram fits its lesson column at ${width} px`, async () => {
    const context = await e2e!.browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    try {
      for (const path of pages) {
        await page.goto(e2e!.berth.origin + path);
        const sizes = await page.locator('.prose img').evaluateAll((imgs) =>
          imgs.map((img) => ({ src: img.getAttribute('src'), img: img.getBoundingClientRect().width, column: img.closest('.prose')!.clientWidth })),
        );
        assert.ok(sizes.length > 0, `${path} shows its diagram`);
        for (const s of sizes) if (s.img > s.column + 0.5) problems.push(`${path} ${s.src}: ${Math.round(s.img)} px in a ${s.column} px column`);
      }
    } finally {
      await context.close();
    }
    assert.deepEqual(problems, []);
  });
}
