/**
 * The terminal as people use it (issue 18), in a real Chromium against a real
 * Berth: a way out of the terminal by keyboard and a skip link into it, the
 * on-screen key bar on a touch phone, paste and copy keys, Run buttons that
 * clear the input line and refuse to type into another program, and the
 * terminal's font size, maximise and the splitter position.
 *
 * One learner throughout (the phone context reuses the desktop context's
 * cookie), so the whole file uses one sandbox.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { screenText, startE2E, waitForScreen, type E2E } from '../helpers/browser.ts';

const PROMPT = /learner@berth:\S*\$/;
const LESSON = '/en/lessons/04-containers/';

describe('the terminal as people use it', () => {
  let e2e: E2E | undefined;
  let desktop: BrowserContext;
  before(async () => {
    e2e = await startE2E();
    desktop = await e2e.browser.newContext({ viewport: { width: 1280, height: 850 } });
    await desktop.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: e2e.berth.origin });
  });
  after(async () => {
    await desktop?.close();
    await e2e?.close();
  });

  async function open(context: BrowserContext, path = LESSON): Promise<Page> {
    const page = await context.newPage();
    await page.goto(e2e!.berth.origin + path);
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    await waitForScreen(page, PROMPT, 20_000);
    return page;
  }
  const focusIn = (page: Page) =>
    page.evaluate(() => {
      const a = document.activeElement;
      return a?.closest('berth-terminal') ? (a.matches('.xterm-helper-textarea') ? 'terminal' : a.localName) : (a?.localName ?? 'none');
    });
  /** Type a line into the shell and wait for the prompt to come back. */
  async function shell(page: Page, line: string): Promise<void> {
    await page.locator('berth-terminal .xterm-helper-textarea').focus();
    await page.keyboard.type(line);
    await page.keyboard.press('Enter');
  }

  test('a skip link reaches the terminal in two Tabs; Tab stays inside; Esc twice leaves and says so', async () => {
    const page = await open(desktop);
    try {
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      let presses = 0;
      while (presses < 10) {
        await page.keyboard.press('Tab');
        presses++;
        if (await page.evaluate(() => document.activeElement?.matches('a[data-skip-terminal]'))) break;
      }
      assert.ok(presses <= 3, `the skip link is Tab press ${presses}`);
      assert.equal(await page.locator('a[data-skip-terminal]').innerText(), 'Skip to the terminal');
      await page.keyboard.press('Enter');
      assert.equal(await focusIn(page), 'terminal', 'Enter on the skip link puts the cursor in the terminal');

      // Tab and Shift+Tab belong to the shell (completion), so they stay inside.
      await page.keyboard.type('echo esc-');
      await page.keyboard.press('Tab');
      assert.equal(await focusIn(page), 'terminal');
      // Screen readers are told the way out.
      const described = await page.locator('berth-terminal .xterm-helper-textarea').getAttribute('aria-describedby');
      assert.match(await page.locator(`#${described}`).innerText(), /Esc twice/);

      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      assert.equal(await focusIn(page), 'berth-terminal', 'Esc twice parks focus on the terminal box');
      assert.match(await page.locator('.sandbox-announce').innerText(), /You left the terminal/);
      await page.keyboard.press('Enter');
      assert.equal(await focusIn(page), 'terminal', 'Enter goes back in');
      // Nothing of the two Escs reached the shell: the line still runs as typed.
      await page.keyboard.type('ok$((40+2))');
      await page.keyboard.press('Enter');
      await waitForScreen(page, /^esc-ok42\s*$/m);

      // Out forwards and backwards: Tab goes past the terminal, Shift+Tab to the toolbar, and Tab from there back in.
      await page.keyboard.press('Shift+Tab');
      assert.equal(await focusIn(page), 'terminal', 'Shift+Tab stays in the terminal');
      await page.keyboard.press('Control+U'); // whatever Shift+Tab typed
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Tab');
      assert.ok(!['terminal', 'berth-terminal'].includes(await focusIn(page)), 'Tab goes on past the terminal');
      await page.locator('berth-terminal .xterm-helper-textarea').focus();
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Shift+Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.closest('.sandbox-toolbar') !== null), true, 'Shift+Tab goes to the toolbar');
      await page.keyboard.press('Tab');
      assert.equal(await focusIn(page), 'terminal', 'and Tab from the toolbar goes into the terminal');

      // A single Esc still reaches the shell (held back briefly): Esc then b is readline's backward-word.
      await page.keyboard.type('echo single-ok');
      await page.keyboard.press('Escape');
      await page.keyboard.press('b');
      await page.keyboard.type('x');
      await page.keyboard.press('Enter');
      await waitForScreen(page, /^single-xok\s*$/m);
    } finally {
      await page.close();
    }
  });

  test('Ctrl+V pastes, right-click pastes, Ctrl+C copies a selection and interrupts without one', async () => {
    const page = await open(desktop);
    try {
      const clip = (text: string) => page.evaluate((t) => navigator.clipboard.writeText(t), text);
      await clip('echo pasted-$((6*7))');
      await page.locator('berth-terminal .xterm-helper-textarea').focus();
      await page.keyboard.press('Control+V');
      await page.keyboard.press('Enter');
      await waitForScreen(page, /^pasted-42\s*$/m);

      await clip('echo right-$((5+5))');
      await page.locator('berth-terminal .xterm-screen').click({ button: 'right' });
      await page.keyboard.press('Enter');
      await waitForScreen(page, /^right-10\s*$/m);

      // Select a word of the output, then Ctrl+C copies it instead of interrupting.
      await page.evaluate(() => {
        const term = (document.querySelector('berth-terminal') as HTMLElement & { terminal: import('@xterm/xterm').Terminal }).terminal;
        const buf = term.buffer.active;
        for (let y = buf.length - 1; y >= 0; y--) {
          const line = buf.getLine(y)?.translateToString(true) ?? '';
          if (line === 'right-10') return term.select(0, y, 8);
        }
        throw new Error('no right-10 line');
      });
      await page.keyboard.press('Control+C');
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'right-10');
      assert.equal(await screenText(page).then((s) => /\^C/.test(s)), false, 'no interrupt while copying');

      // Without a selection Ctrl+C interrupts as always.
      await shell(page, 'sleep 30; echo not-interrupted');
      await page.waitForTimeout(300);
      await page.keyboard.press('Control+C');
      await shell(page, 'echo after-$((3+4))');
      const screen = await waitForScreen(page, /^after-7\s*$/m, 10_000);
      assert.doesNotMatch(screen, /^not-interrupted/m);
      assert.match(await page.locator('.sandbox-keys').innerText(), /Paste Ctrl\+V or right-click/);
    } finally {
      await page.close();
    }
  });

  test('Run clears a half-typed line, and refuses to type into docker run -it busybox sh', async () => {
    const page = await open(desktop);
    try {
      const run = page.locator('berth-code[data-command^="docker run --rm -e GREETING=hello"] button[data-action="run"]');
      await page.locator('berth-terminal .xterm-helper-textarea').focus();
      await page.keyboard.type('echo half-typed');
      await run.click();
      const screen = await waitForScreen(page, /^hello from the container\s*$/m, 60_000);
      assert.doesNotMatch(screen, /half-typeddocker/);

      await shell(page, 'docker run -it --rm busybox sh');
      await waitForScreen(page, /^\/ # /m, 60_000);
      const ps = page.getByRole('button', { name: 'Run: docker ps -a --quiet', exact: true });
      await ps.click();
      const block = page.locator('berth-code', { has: ps });
      assert.equal(await block.getAttribute('data-run-result'), 'busy');
      assert.match(await block.locator('.code-status').innerText(), /another program is using the terminal/);
      await page.waitForTimeout(500);
      assert.doesNotMatch(await screenText(page), /docker: not found/, 'nothing was typed into busybox');

      await shell(page, 'exit');
      await waitForScreen(page, /^\/ # exit\s*\n(.*\n)*learner@berth:\S*\$/m, 10_000);
      await ps.click();
      assert.equal(await block.getAttribute('data-run-result'), 'sent', 'back at the prompt, Run types again');
    } finally {
      await page.close();
    }
  });

  test('font size and splitter survive a reload; maximise, and Esc restores', async () => {
    const page = await open(desktop);
    try {
      const fontSize = () => page.evaluate(() => (document.querySelector('berth-terminal') as HTMLElement & { fontSize: number }).fontSize);
      const before = await fontSize();
      await page.getByRole('button', { name: 'Larger text' }).click();
      await page.getByRole('button', { name: 'Larger text' }).click();
      assert.equal(await fontSize(), before + 2);
      const splitter = page.getByRole('separator');
      await splitter.focus();
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      const split = await splitter.getAttribute('aria-valuenow');
      assert.notEqual(split, '50');

      await page.reload();
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 30_000 });
      assert.equal(await fontSize(), before + 2, 'font size kept');
      assert.equal(await page.getByRole('separator').getAttribute('aria-valuenow'), split, 'splitter kept');
      assert.equal(await page.locator('.lesson-layout').evaluate((el) => (el as HTMLElement).style.getPropertyValue('--text-size')), `${split}%`);

      const max = page.getByRole('button', { name: 'Maximise terminal' });
      await max.click();
      assert.equal(await max.getAttribute('aria-pressed'), 'true');
      const box = await page.locator('berth-sandbox').boundingBox();
      assert.deepEqual([box?.x, box?.y, box?.width, box?.height], [0, 0, 1280, 850], 'the panel fills the window');
      await page.keyboard.press('Escape');
      assert.equal(await max.getAttribute('aria-pressed'), 'false', 'Esc restores');
      assert.ok(((await page.locator('berth-sandbox').boundingBox())?.width ?? 1280) < 1000);
    } finally {
      await page.close();
    }
  });

  test('on a touch phone the key bar appears with the terminal focused, keeps its focus, and ^C and Ctrl then c interrupt', async () => {
    const phone = await e2e!.browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      storageState: await desktop.storageState(),
    });
    const page = await open(phone);
    try {
      const bar = page.getByRole('group', { name: 'Terminal keys' });
      assert.equal(await bar.isVisible(), false, 'no key bar before the terminal has focus');
      await page.locator('berth-terminal .xterm-screen').tap();
      assert.equal(await focusIn(page), 'terminal');
      await bar.waitFor({ state: 'visible' });
      for (const name of ['Ctrl (with the next key)', 'Esc', 'Tab', 'Up arrow', 'Down arrow', 'Left arrow', 'Right arrow', 'Ctrl+C (interrupt)', 'Ctrl+D (end of input)']) {
        assert.ok(await bar.getByRole('button', { name, exact: true }).isVisible(), name);
      }
      const axe = await new AxeBuilder({ page }).include('berth-sandbox').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      assert.deepEqual(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id), [], 'the panel with its key bar');

      await page.keyboard.type('sleep 30; echo not-interrupted');
      await page.keyboard.press('Enter');
      await page.waitForTimeout(300);
      await bar.getByRole('button', { name: 'Ctrl+C (interrupt)' }).tap();
      assert.equal(await focusIn(page), 'terminal', 'the key bar does not take the focus');
      await page.keyboard.type('echo tapped-$((2+2))');
      await page.keyboard.press('Enter');
      await waitForScreen(page, /^tapped-4\s*$/m, 10_000);

      // Sticky Ctrl: Ctrl, then the soft keyboard's c.
      await page.keyboard.type('sleep 30; echo not-interrupted');
      await page.keyboard.press('Enter');
      await page.waitForTimeout(300);
      const ctrl = bar.getByRole('button', { name: 'Ctrl (with the next key)' });
      await ctrl.tap();
      assert.equal(await ctrl.getAttribute('aria-pressed'), 'true');
      await page.keyboard.type('c');
      assert.equal(await ctrl.getAttribute('aria-pressed'), 'false', 'Ctrl applies once');
      await page.keyboard.type('echo sticky-$((3+3))');
      await page.keyboard.press('Enter');
      await waitForScreen(page, /^sticky-6\s*$/m, 10_000);

      // Up arrow recalls the last command.
      await bar.getByRole('button', { name: 'Up arrow' }).tap();
      await page.keyboard.press('Enter');
      const screen = await waitForScreen(page, /^sticky-6\s*\n[\s\S]*^sticky-6\s*$/m, 10_000);
      assert.doesNotMatch(screen, /^not-interrupted/m);
    } finally {
      await phone.close();
    }
  });
});
