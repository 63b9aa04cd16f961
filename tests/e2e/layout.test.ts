/**
 * Every lesson page, in both languages, at a phone and a desktop width: nothing in the
 * lesson text is wider than its column, so neither the column nor the page scrolls
 * sideways. Diagrams are drawn 760 px wide and must shrink to fit, not be cropped (code
 * blocks scroll inside themselves and do not count).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startE2E, type E2E } from '../helpers/browser.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lessons = readdirSync(join(root, 'content/lessons')).sort();
const pages = lessons.flatMap((l) => [`/lessons/${l}/`, `/en/lessons/${l}/`]);

let e2e: E2E | undefined;
before(async () => {
  e2e = await startE2E();
});
after(() => e2e?.close());

for (const width of [390, 1280]) {
  test(`lesson text fits its column at ${width} px`, async () => {
    const context = await e2e!.browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    try {
      for (const path of pages) {
        await page.goto(e2e!.berth.origin + path);
        const m = await page.evaluate(() => {
          const text = document.querySelector('#lesson-text')!;
          return { column: text.clientWidth, content: text.scrollWidth, page: document.documentElement.scrollWidth };
        });
        if (m.content > m.column) problems.push(`${path}: lesson text is ${m.content} px wide in a ${m.column} px column`);
        if (m.page > width) problems.push(`${path}: the page is ${m.page} px wide at a ${width} px viewport`);
        // A diagram wider than the column could also be cropped (overflow hidden) without widening anything.
        const images = await page.locator('.prose img').evaluateAll((imgs) =>
          imgs.map((img) => ({ src: img.getAttribute('src'), img: img.getBoundingClientRect().width, column: img.closest('.prose')!.clientWidth })),
        );
        for (const i of images) if (i.img > i.column + 0.5) problems.push(`${path} ${i.src}: ${Math.round(i.img)} px in a ${i.column} px column`);
      }
    } finally {
      await context.close();
    }
    assert.deepEqual(problems, []);
  });
}
