//! Issue 13 item 3, seen in the browser: a product titled `<img src=x onerror=alert(1)>` and a
//! chat message holding markup render as text everywhere (storefront search and product page,
//! admin product list and inbox); no script runs, no dialog opens, no image is made of them.

import assert from 'node:assert/strict';
import { BASE, STAFF_BASE, journey } from '../lib/harness.js';
import { api, makeCustomer, makeStore, placeOrder } from '../lib/fixture.js';
import { adminSignIn, shopperSignIn } from '../lib/pages.js';

const TITLE = '<img src=x onerror=alert(1)>';
const MESSAGE = '<script>alert(2)</script><b>bold?</b>';

journey('markup typed by users renders as text', async (s) => {
  const store = await makeStore(BASE);
  await api(BASE, 'POST', `/v1/stores/${store.slug}/products`, {
    token: store.token,
    body: {
      slug: 'xss-lamp', title: TITLE, status: 'active',
      variants: [{ sku: 'XSS-1', price: { amount_minor: 1000, currency: 'EUR' } }],
    },
  });
  await api(BASE, 'PUT', `/v1/stores/${store.slug}/inventory/XSS-1`, { token: store.token, body: { on_hand: 3 } });
  const customer = await makeCustomer(BASE, store.slug);
  const order = await placeOrder(BASE, store, customer, [store.products[0].skus[0]]);

  const dialogs = [];
  const shop = await s.page('shopper');
  const admin = await s.page('staff');
  for (const page of [shop, admin]) page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  const noImageFromMarkup = async (page) =>
    assert.equal(await page.locator('img[src="x"], script:has-text("alert")').count(), 0, `markup became elements on ${page.url()}`);

  await shop.goto(`${BASE}/s/${store.slug}/p/xss-lamp`);
  await shop.getByRole('heading', { level: 1, name: TITLE }).waitFor();
  await noImageFromMarkup(shop);
  await shop.goto(`${BASE}/s/${store.slug}/search?q=xss`);
  await shop.getByRole('main').getByRole('link', { name: TITLE }).first().waitFor();
  await noImageFromMarkup(shop);

  await shopperSignIn(shop, BASE, store.slug, customer);
  await shop.goto(`${BASE}/s/${store.slug}/orders/${order.id}`);
  await shop.getByLabel('Message', { exact: true }).fill(MESSAGE);
  await shop.getByRole('button', { name: 'Send' }).click();
  await shop.getByRole('main').getByText(MESSAGE, { exact: true }).waitFor();
  await noImageFromMarkup(shop);

  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/products`);
  await admin.getByRole('main').getByRole('link', { name: TITLE }).waitFor();
  await noImageFromMarkup(admin);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/conversations`);
  await admin.getByRole('main').getByText(`Customer: ${MESSAGE}`).waitFor();
  await noImageFromMarkup(admin);

  assert.deepEqual(dialogs, [], 'a script of the markup ran');
});
