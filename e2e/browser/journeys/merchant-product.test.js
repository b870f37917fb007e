//! A merchant creates a product in the admin and a shopper finds it on the storefront's search
//! within a second (issue 13 item 5).

import assert from 'node:assert/strict';
import { BASE, STAFF_BASE, eventually, journey } from '../lib/harness.js';
import { makeStore } from '../lib/fixture.js';
import { adminSignIn } from '../lib/pages.js';

/** How soon the new product must be findable (issue 13: within a second). */
const WITHIN_MS = 1000;

journey('a merchant creates a product and a shopper finds it within a second', async (s) => {
  const store = await makeStore(BASE);
  // The shopper's search page is open (and finds nothing) before the product exists.
  const shop = await s.page('shopper');
  const search = `${BASE}/s/${store.slug}/search?q=walnut`;
  await shop.goto(search);
  await shop.getByRole('heading', { level: 1 }).waitFor();
  assert.equal(await shop.getByRole('link', { name: 'Walnut Desk Lamp' }).count(), 0);

  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Products' }).click();
  await admin.getByRole('link', { name: 'New product' }).click();
  await admin.getByLabel('Title', { exact: true }).fill('Walnut Desk Lamp');
  await admin.getByLabel('Status', { exact: true }).selectOption({ label: 'Active' });
  await admin.getByLabel('Category', { exact: true }).selectOption({ label: 'Lamps' });
  await admin.getByLabel('Variant 1 SKU', { exact: true }).fill('WDL-1');
  await admin.getByLabel('Variant 1 price', { exact: true }).fill('39.90');
  await admin.getByRole('button', { name: 'Create product' }).click();
  await admin.waitForURL((url) => !url.pathname.endsWith('/products/new'));
  await admin.getByRole('status').filter({ hasText: /created/i }).waitFor();
  const created = Date.now();
  await shop.goto(search);
  await eventually(shop, () => shop.getByRole('link', { name: 'Walnut Desk Lamp' }).first().isVisible(), { ms: 5000 });
  const elapsed = Date.now() - created;
  console.log(`the new product was findable ${elapsed} ms after the admin confirmed it`);
  assert.ok(elapsed < WITHIN_MS, `findable only after ${elapsed} ms`);
});
