/** The system Chromium under playwright-core (Playwright's own browser download is not used). */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
