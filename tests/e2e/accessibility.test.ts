/**
 * axe-core on every page a learner sees (home and each lesson, in both
 * languages), at a phone width and a desktop width: no serious or critical
 * accessibility violation. The sandbox is running, so the terminal is in the page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { startE2E, type E2E } from '../helpers/browser.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lessons = readdirSync(join(root, 'content/lessons')).sort();
const pages = ['/', '/en/', ...lessons.flatMap((l) => [`/lessons/${l}/`, `/en/lessons/${l}/`])];
const viewports = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1400, height: 900 },
];

let e2e: E2E | undefined;
before(async () => {
  e2e = await startE2E();
});
after(() => e2e?.close());

for (const viewport of viewports) {
  test(`no serious accessibility violations (${viewport.name})`, async () => {
    const context = await e2e!.browser.newContext({ viewport: { width: viewport.width, height: viewport.height } });
    const page = await context.newPage();
    const problems: string[] = [];
    try {
      for (const path of pages) {
        await page.goto(e2e!.berth.origin + path);
        if (path.includes('/lessons/')) await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
        const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
        for (const v of results.violations) {
          if (v.impact !== 'serious' && v.impact !== 'critical') continue;
          problems.push(`${path}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
        }
      }
    } finally {
      await context.close();
    }
    assert.deepEqual(problems, []);
  });
}
