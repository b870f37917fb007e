//! A staff refund in the admin updates the shopper's open order page without a reload: two
//! browser contexts, the shopper's and the staff member's (issue 13 item 5). In the distributed
//! topology they use different gateways, so the update crosses processes.

import { BASE, STAFF_BASE, journey } from '../lib/harness.js';
import { makeCustomer, makeStore, placeOrder } from '../lib/fixture.js';
import { adminSignIn, assertSameDocument, markDocument, shopperSignIn, waitLive } from '../lib/pages.js';

journey('a staff refund updates the shopper\'s open order page live', async (s) => {
  const store = await makeStore(BASE);
  const customer = await makeCustomer(BASE, store.slug);
  const order = await placeOrder(BASE, store, customer, store.products[0].skus);

  const shop = await s.page('shopper');
  await shopperSignIn(shop, BASE, store.slug, customer);
  await shop.goto(`${BASE}/s/${store.slug}/orders/${order.id}`);
  const main = shop.getByRole('main');
  await main.getByRole('heading', { level: 1, name: `Order #${order.number}` }).waitFor();
  await main.getByText('Confirmed', { exact: true }).waitFor();
  await waitLive(shop);
  await markDocument(shop);

  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/orders/${order.id}`);
  await admin.getByRole('button', { name: 'Refund whole order' }).click();
  await admin.getByRole('status').filter({ hasText: /refund/i }).first().waitFor();

  await main.getByText('Refunded', { exact: true }).waitFor();
  await assertSameDocument(shop);
});

journey('a partial refund and a cancellation show on the shopper\'s order pages live', async (s) => {
  const store = await makeStore(BASE);
  const customer = await makeCustomer(BASE, store.slug);
  const [lantern, lamp] = store.products;
  const refunded = await placeOrder(BASE, store, customer, lantern.skus);
  const cancelled = await placeOrder(BASE, store, customer, [lamp.skus[0]]);

  const shop = await s.page('shopper');
  await shopperSignIn(shop, BASE, store.slug, customer);
  await shop.goto(`${BASE}/s/${store.slug}/orders/${refunded.id}`);
  const main = shop.getByRole('main');
  await main.getByText('Confirmed', { exact: true }).waitFor();
  await waitLive(shop);
  await markDocument(shop);

  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/orders/${refunded.id}`);
  await admin.getByLabel(new RegExp(`^Quantity of Brass Lantern.* \\(${lantern.skus[0]}\\) to refund, up to 1$`)).fill('1');
  await admin.getByRole('button', { name: 'Refund selected items' }).click();
  await admin.getByRole('status').filter({ hasText: 'The refund is made.' }).waitFor();
  await main.getByText('Partially refunded', { exact: true }).waitFor();
  await assertSameDocument(shop);

  await shop.goto(`${BASE}/s/${store.slug}/orders/${cancelled.id}`);
  await main.getByText('Confirmed', { exact: true }).waitFor();
  await waitLive(shop);
  await markDocument(shop);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/orders/${cancelled.id}`);
  await admin.getByRole('button', { name: 'Cancel order' }).click();
  await admin.getByRole('status').filter({ hasText: 'The order is cancelled.' }).waitFor();
  await main.getByText('Cancelled', { exact: true }).waitFor();
  await assertSameDocument(shop);
});
