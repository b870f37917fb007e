//! The journeys' harness: one headless Debian Chromium per journey (playwright-core), browser
//! contexts that record console errors, uncaught page errors and Content-Security-Policy
//! violations, and a screenshot of every open page at the journey's last step, or where it failed,
//! in $MERCATO_SCREENSHOTS (default target/browser-screenshots/<topology>).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './browser.js';

/** The platform under test; in the distributed topology the second gateway serves staff. */
export const BASE = process.env.MERCATO_BASE_URL ?? 'http://127.0.0.1:18080';
export const STAFF_BASE = process.env.MERCATO_STAFF_BASE_URL ?? BASE;
export const TOPOLOGY = process.env.MERCATO_TOPOLOGY ?? 'embedded';
const SHOTS = process.env.MERCATO_SCREENSHOTS
  ?? join(fileURLToPath(new URL('../../..', import.meta.url)), 'target', 'browser-screenshots', TOPOLOGY);
/** How long one action or expectation may wait for its condition. */
export const TIMEOUT = Number(process.env.MERCATO_BROWSER_TIMEOUT_MS ?? 10_000);

/** A journey's browser: contexts (separate cookie jars: a shopper, a staff member) and pages. */
class Session {
  constructor(browser, name) {
    this.browser = browser;
    this.name = name;
    this.pages = [];
    this.problems = [];
  }

  /** A page in a new context of its own, `who` naming it in screenshots and problems. */
  async page(who = 'shopper', { width = 1280, height = 900 } = {}) {
    const context = await this.browser.newContext({ viewport: { width, height } });
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      // A document answered with an error status (a declined card's 402 page) is not a fault
      // of the page; every other console error is.
      if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)
        && msg.location().url === page.url()) return;
      const from = msg.location().url;
      this.problems.push(`${who}: console error at ${page.url()}: ${text}${from && from !== page.url() ? ` (${from})` : ''}`);
    });
    page.on('pageerror', (err) => this.problems.push(`${who}: uncaught error at ${page.url()}: ${err.message}`));
    this.pages.push({ who, page });
    return page;
  }

  /** Screenshots of every open page, named after the journey, `who` and `step`. */
  async shoot(step) {
    mkdirSync(SHOTS, { recursive: true });
    const base = this.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    for (const { who, page } of this.pages) {
      if (page.isClosed()) continue;
      const path = join(SHOTS, `${base}.${who}.${step}.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => {});
    }
  }

  /** Fails the journey if any page logged an error or violated the CSP. */
  assertClean() {
    assert.deepEqual(this.problems, [], 'pages logged errors or CSP violations');
  }
}

/**
 * A journey: a node:test test with its own browser. At the end its pages must have logged no
 * console error and no CSP violation; the last step (or the failing one) is screenshotted.
 */
export function journey(name, fn, options = {}) {
  test(name, { timeout: 90_000, ...options }, async () => {
    const browser = await launch();
    const session = new Session(browser, name);
    try {
      await fn(session);
      session.assertClean();
      await session.shoot('last');
    } catch (err) {
      await session.shoot('failure');
      if (session.problems.length) err.message += `\n  page problems:\n  ${session.problems.join('\n  ')}`;
      throw err;
    } finally {
      await browser.close();
    }
  });
}

/** Waits until `check` returns a truthy value, reloading `page` in between, for up to `ms`. */
export async function eventually(page, check, { ms = TIMEOUT, reload = true } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => false);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms at ${page.url()}`);
    if (reload) await page.reload();
    else await page.waitForTimeout(50);
  }
}
