/** The system Chromium under playwright-core (Playwright's own browser download is not used). */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';
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
