//! A shopper's chat message, written on their order page, appears in the staff inbox live,
//! without a reload (issue 13 item 5).

import { BASE, STAFF_BASE, journey } from '../lib/harness.js';
import { makeCustomer, makeStore, placeOrder, unique } from '../lib/fixture.js';
import { adminSignIn, assertSameDocument, markDocument, shopperSignIn, waitLive } from '../lib/pages.js';

journey('a shopper\'s chat message appears in the staff inbox live', async (s) => {
  const store = await makeStore(BASE);
  const customer = await makeCustomer(BASE, store.slug);
  const order = await placeOrder(BASE, store, customer, [store.products[1].skus[0]]);

  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/conversations`);
  await admin.getByRole('heading', { level: 1, name: 'Conversations' }).waitFor();
  await waitLive(admin);
  await markDocument(admin);

  const shop = await s.page('shopper');
  await shopperSignIn(shop, BASE, store.slug, customer);
  await shop.goto(`${BASE}/s/${store.slug}/orders/${order.id}`);
  const text = `Where is my parcel? (${unique()})`;
  await shop.getByLabel('Message', { exact: true }).fill(text);
  await shop.getByRole('button', { name: 'Send' }).click();
  await shop.getByText(text).first().waitFor();

  await admin.getByRole('main').getByText(`Customer: ${text}`).waitFor();
  await assertSameDocument(admin);
});
