//! The admin's order list shows a new order as it arrives, without a reload (issue 13 item 2),
//! the home's figures follow the analytics push (issue 14), and the product form shows
//! validation errors on the fields they concern.

import { BASE, STAFF_BASE, journey } from '../lib/harness.js';
import { makeCustomer, makeStore, placeOrder } from '../lib/fixture.js';
import { adminSignIn, assertSameDocument, markDocument, waitLive } from '../lib/pages.js';

journey('a new order appears in the admin\'s order list live', async (s) => {
  const store = await makeStore(BASE);
  const customer = await makeCustomer(BASE, store.slug);
  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/orders`);
  await admin.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
  await waitLive(admin);
  await markDocument(admin);

  const order = await placeOrder(BASE, store, customer, [store.products[1].skus[1]]);
  await admin.getByRole('main').getByRole('link', { name: `#${order.number}` }).waitFor();
  await admin.getByRole('status').filter({ hasText: `New order #${order.number}` }).waitFor();
  await assertSameDocument(admin);
});

journey('the admin home counts a new order in today\'s figures live', async (s) => {
  const store = await makeStore(BASE);
  const customer = await makeCustomer(BASE, store.slug);
  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/`);
  await admin.getByRole('heading', { level: 1, name: 'Today' }).waitFor();
  const orders = admin.locator('.figures > div').filter({ has: admin.getByRole('term').filter({ hasText: /^Orders$/ }) });
  await orders.getByRole('definition').first().filter({ hasText: /^0$/ }).waitFor();
  await waitLive(admin);
  await markDocument(admin);

  await placeOrder(BASE, store, customer, [store.products[0].skus[0]]);
  // analytics counts it and pushes figures.changed; the page refetches its figures.
  await orders.getByRole('definition').first().filter({ hasText: /^1$/ }).waitFor();
  await admin.getByRole('img', { name: /Net sales by hour/ }).waitFor();
  await assertSameDocument(admin);
});

/** Fails unless the field labelled `label` is marked invalid and described by an alert. */
async function assertFieldError(page, label) {
  const field = page.getByLabel(label, { exact: true });
  await field.and(page.locator('[aria-invalid="true"]')).waitFor();
  const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const alerts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"][role="alert"]`).count()));
  if (!alerts.some((n) => n > 0)) throw new Error(`${label} is not described by an alert`);
}

journey('the product form shows errors next to their fields', async (s) => {
  const store = await makeStore(BASE);
  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/products/new`);
  const sku = admin.getByLabel('Variant 1 SKU', { exact: true });
  const price = admin.getByLabel('Variant 1 price', { exact: true });
  const title = admin.getByLabel('Title', { exact: true });
  const notSaved = admin.getByRole('alert').filter({ hasText: 'The product was not saved' });

  // A price that is no amount: the error is said with the price field, what was typed is kept.
  await title.fill('Oak Lamp');
  await sku.fill('OAK-1');
  await price.fill('abc');
  await admin.getByRole('button', { name: 'Create product' }).click();
  await notSaved.waitFor();
  await assertFieldError(admin, 'Variant 1 price');
  await sku.and(admin.locator('[value="OAK-1"]')).waitFor();

  // No title: the API's validation error comes back on the Title field.
  await title.fill('');
  await price.fill('19.90');
  await admin.getByRole('button', { name: 'Create product' }).click();
  await notSaved.waitFor();
  await assertFieldError(admin, 'Title');
});
