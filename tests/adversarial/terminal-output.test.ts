/**
 * What the sandbox prints cannot reach the learner's clipboard or type into the
 * learner's shell, in a real Chromium on the real lesson page:
 *  - OSC 52 (set clipboard) does not change what navigator.clipboard holds, and
 *    OSC 52 "?" (read clipboard) gets no answer;
 *  - terminal queries whose answers could echo attacker text (title report after
 *    OSC 2, DECRQSS with a payload) answer nothing a shell would run;
 *  - a paste holding a bracketed-paste end marker does not run the rest.
 * The clipboard permissions are granted so that a write would really land.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TestBerth } from '../helpers/berth.ts';
import { screenText, startE2E, waitForScreen, type E2E } from '../helpers/browser.ts';

const PROMPT = /learner@berth:\S*\$/;
const SENTINEL = 'berth-clipboard-sentinel-7f3a';


/** Types a command line into the page's terminal, as a learner would. */
async function type(page: Page, line: string): Promise<void> {
  await page.locator('berth-terminal .xterm-helper-textarea').focus();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

const readClipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());

/** Runs a command in the learner's sandbox from outside the terminal (the test's own view of its files). */
async function inSandbox(berth: TestBerth, cmd: string): Promise<string> {
  const [sandbox] = await berth.runtime.listSandboxes();
  assert.ok(sandbox, 'the learner has a sandbox');
  return (await berth.runtime.exec(sandbox.id, ['bash', '-c', cmd], 10_000)).stdout;
}

describe('adversarial: terminal output and paste', () => {
  let berth: TestBerth;
  let browser: Browser;
  let e2e: E2E | undefined;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    e2e = await startE2E();
    ({ berth, browser } = e2e);
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: berth.origin });
    page = await context.newPage();
    await page.goto(`${berth.origin}/en/lessons/00-welcome/`);
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    await waitForScreen(page, PROMPT);
  });
  after(async () => {
    await context?.close();
    await e2e?.close();
  });

  test('OSC 52 from the sandbox does not write the clipboard', async () => {
    await page.evaluate((text) => navigator.clipboard.writeText(text), SENTINEL);
    assert.equal(await readClipboard(page), SENTINEL, 'the page can use the clipboard (the check is meaningful)');
    // BEL- and ST-terminated, clipboard and primary selections, and an empty selection list.
    await type(page, `for t in c p s ''; do printf '\\e]52;%s;%s\\a\\e]52;%s;%s\\e\\\\' "$t" "$(printf osc52-pwned | base64)" "$t" "$(printf osc52-pwned | base64)"; done; echo osc-done-$((40+2))`);
    await waitForScreen(page, /osc-done-42/);
    await page.waitForTimeout(300);
    assert.equal(await readClipboard(page), SENTINEL);
  });

  test('terminal queries answer nothing that types a command or leaks the clipboard', async () => {
    await page.evaluate((text) => navigator.clipboard.writeText(text), SENTINEL);
    const sentinel64 = Buffer.from(SENTINEL).toString('base64');
    // Set a title holding a command, ask for it back (CSI 21 t / 20 t), ask DECRQSS about a
    // payload, ask for the clipboard (OSC 52 ?), plus DA and DSR, whose (harmless) answers
    // prove the capture below works. `read` takes every answer the page sends within 2 s.
    await type(
      page,
      `printf '\\e]2;touch /tmp/injected-title\\r\\a\\e]1;touch /tmp/injected-icon\\r\\a\\e[21t\\e[20t\\eP$qtouch /tmp/injected-decrqss\\r\\e\\\\\\e]52;c;?\\a\\e[6n\\e[c'; IFS= read -r -s -d '' -n 4096 -t 2 answers; printf 'ANSWERS[%q]' "$answers" >/tmp/answers; echo queries-done-$((40+2))`,
    );
    await waitForScreen(page, /queries-done-42/);
    const answers = await inSandbox(berth, 'cat /tmp/answers');
    console.log(`# the page answered: ${answers}`);
    assert.match(answers, /^ANSWERS\[/);
    assert.match(answers, /\\E\[\?[\d;]+c|\[\d+;\d+R/, 'device attributes or cursor report came back, so answers are captured');
    assert.doesNotMatch(answers, /injected|touch/, 'no answer echoes attacker text');
    assert.ok(!answers.includes(SENTINEL) && !answers.includes(sentinel64), 'the clipboard was not sent to the sandbox');
    await type(page, 'echo files-$((40+2))');
    await waitForScreen(page, /files-42/);
    assert.equal(await inSandbox(berth, 'ls /tmp/injected-* 2>/dev/null | wc -l'), '0\n', 'no command ran from an answer');
  });

  test('a paste holding a bracketed-paste end marker does not run what follows it', async () => {
    await type(page, 'clear');
    const payload = `echo harmless\x1b[201~touch /tmp/pasted-injected\r`;
    await page.evaluate((text) => navigator.clipboard.writeText(text), payload);
    await page.locator('berth-terminal .xterm-helper-textarea').focus();
    await page.keyboard.press('Control+Shift+V');
    await waitForScreen(page, /touch \/tmp\/pasted-injected/, 5000); // pasted, as text on the line
    await page.waitForTimeout(500);
    await page.keyboard.press('Control+C'); // discard the line without running it
    await type(page, 'echo paste-done-$((40+2))');
    await waitForScreen(page, /paste-done-42/);
    assert.equal(await inSandbox(berth, 'test -e /tmp/pasted-injected && echo ran || echo safe'), 'safe\n', 'the text after the end marker ran as a command');
  });
});
