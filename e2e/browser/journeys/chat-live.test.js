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

journey('a staff reply appears on the shopper\'s order page live, with the history', async (s) => {
  const store = await makeStore(BASE);
  const customer = await makeCustomer(BASE, store.slug);
  const order = await placeOrder(BASE, store, customer, [store.products[0].skus[1]]);

  const shop = await s.page('shopper');
  await shopperSignIn(shop, BASE, store.slug, customer);
  await shop.goto(`${BASE}/s/${store.slug}/orders/${order.id}`);
  const question = `Can it ship on Friday? (${unique()})`;
  await shop.getByLabel('Message', { exact: true }).fill(question);
  await shop.getByRole('button', { name: 'Send' }).click();
  const messages = shop.getByRole('list', { name: 'Messages' });
  await messages.getByText(question).waitFor();
  await waitLive(shop);
  await markDocument(shop);

  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/conversations`);
  await admin.getByRole('link', { name: `${customer.email}: Order #${order.number}` }).click();
  await admin.getByRole('list', { name: 'Messages' }).getByText(question).waitFor();
  const answer = `Yes, it leaves on Friday. (${unique()})`;
  await admin.getByLabel('Reply', { exact: true }).fill(answer);
  await admin.getByRole('button', { name: 'Send' }).click();

  await messages.getByText(answer).waitFor();
  await assertSameDocument(shop);
  // The history is kept: a fresh load shows both messages in order.
  await shop.reload();
  const texts = await messages.getByRole('listitem').allInnerTexts();
  const [q, a] = [texts.findIndex((t) => t.includes(question)), texts.findIndex((t) => t.includes(answer))];
  if (!(q >= 0 && a > q)) throw new Error(`history after a reload: ${JSON.stringify(texts)}`);
});
