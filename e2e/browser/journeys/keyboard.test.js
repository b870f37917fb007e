//! Issue 13 item 4: keyboard-only use works — a shopper goes from the home page to a confirmed
//! order with the Tab, arrow, Space and Enter keys and typing alone (no click): every control on the way
//! is reachable in the tab order and works from the keyboard.

import assert from 'node:assert/strict';
import { BASE, journey } from '../lib/harness.js';
import { makeStore } from '../lib/fixture.js';

/** Presses Tab until `target` has the focus (at most `max` times). */
async function tabTo(page, target, max = 60) {
  await target.waitFor();
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`${target} was not reached with ${max} presses of Tab on ${page.url()}`);
}

/** Tabs to the field labelled `label` and types `text` into it. */
async function typeInto(page, label, text) {
  const field = page.getByLabel(label, { exact: true });
  await tabTo(page, field);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(text);
}

journey('a shopper buys with the keyboard alone', async (s) => {
  const store = await makeStore(BASE);
  const page = await s.page('shopper');
  await page.goto(`${BASE}/s/${store.slug}/`);

  await typeInto(page, 'Search', 'paper lamp');
  await page.keyboard.press('Enter');
  await tabTo(page, page.getByRole('main').getByRole('link', { name: 'Paper Lamp' }).first());
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Paper Lamp' }).waitFor();

  // The size radios are one group: Tab reaches the checked one, an arrow key moves to the next.
  await tabTo(page, page.getByRole('radio', { name: /^S — / }));
  await page.keyboard.press('ArrowDown');
  assert.ok(await page.getByRole('radio', { name: /^M — / }).isChecked(), 'the arrow key chose size M');
  await tabTo(page, page.getByRole('button', { name: 'Add to cart' }));
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'Added to your cart.' }).waitFor();

  await tabTo(page, page.getByRole('link', { name: 'View cart' }));
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Your cart' }).waitFor();
  await tabTo(page, page.getByRole('main').getByRole('link', { name: 'Checkout' }));
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();

  const a = store.address;
  await typeInto(page, 'Full name', a.name);
  await typeInto(page, 'Address', a.line1);
  await typeInto(page, 'City', a.city);
  await typeInto(page, 'Postal code', a.postal_code);
  await tabTo(page, page.getByRole('button', { name: 'Save address' }));
  await page.keyboard.press('Enter');
  await page.getByRole('radio', { name: /^DHL Paket — / }).waitFor();

  await typeInto(page, 'Email', 'keys@example.com');
  await typeInto(page, 'Card number', '4242424242424242');
  await typeInto(page, 'Expiry date (MM/YY)', '12/30');
  await typeInto(page, 'Security code (CVC)', '123');
  await tabTo(page, page.getByRole('button', { name: 'Place order' }));
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: /^Order #\d+ is Confirmed/ }).waitFor();
});
