import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/** Debian's Chromium (or CHROMIUM_PATH), which `npm test` installs when run as root. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Fails the test, never skips it, when the browser is missing. */
export function assertChromiumInstalled(): void {
  assert.ok(
    fs.existsSync(CHROMIUM),
    `Chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium" (npm test does it when run as root).`,
  );
}

/** Chromium, headless, with the flags that keep it off this machine's closed network. A missing browser fails the test. */
export async function launchChromium(): Promise<Browser> {
  assertChromiumInstalled();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
