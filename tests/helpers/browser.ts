/** The system Chromium under playwright-core (Playwright's own browser download is not used). */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type LaunchOptions, type Page } from 'playwright-core';
import { buildSite } from '../../scripts/lib/site.ts';
import { startTestBerth, type TestBerth } from './berth.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CHROMIUM_PATH = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';

/** The closed network here: without the background-networking flags Chromium floods it. */
export function launchChromium(extraArgs: string[] = [], options: Omit<LaunchOptions, 'executablePath' | 'args'> = {}): Promise<Browser> {
  return chromium.launch({
    ...options,
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/** What an end-to-end test needs: the built site served by a real Berth, and Chromium. */
export interface E2E {
  berth: TestBerth;
  browser: Browser;
  close(): Promise<void>;
}

export async function startE2E(extraArgs: string[] = []): Promise<E2E> {
  await buildSite(ROOT);
  const berth = await startTestBerth();
  const browser = await launchChromium(extraArgs);
  return {
    berth,
    browser,
    async close() {
      await browser.close();
      await berth.destroy();
    },
  };
}

/** Types a command into the page's terminal, as a learner does, and presses Enter. */
export async function typeInTerminal(page: Page, command: string): Promise<void> {
  await page.locator('berth-terminal .xterm-helper-textarea').focus();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

/** The text the page's terminal shows now. */
export async function screenText(page: Page): Promise<string> {
  return page.locator('berth-terminal .xterm-rows').innerText();
}

/** Waits until the terminal shows `pattern`; returns what it shows. */
export async function waitForScreen(page: Page, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await screenText(page);
    if (pattern.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`terminal never showed ${pattern}; it shows:\n${text}`);
}
