//! More of the storefront (issue 13 item 1): an anonymous cart kept through sign-up, sign-out and
//! sign-in; plain-language checkout errors next to what they concern (an invalid card number, an
//! item sold out meanwhile); the product page's availability following stock changes live.

import { BASE, journey } from '../lib/harness.js';
import { api, makeStore, unique } from '../lib/fixture.js';
import { assertSameDocument, markDocument, shopperSignIn, waitLive } from '../lib/pages.js';

/** Adds size S of the Paper Lamp to the cart from its product page. */
async function addPaperLamp(page, store) {
  await page.goto(`${BASE}/s/${store.slug}/p/paper-lamp`);
  await page.getByRole('radio', { name: /^S — / }).check();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('status').filter({ hasText: 'Added to your cart.' }).waitFor();
}

journey('an anonymous cart is merged on sign-up, and sign-out and sign-in work', async (s) => {
  const store = await makeStore(BASE);
  const page = await s.page('shopper');
  await addPaperLamp(page, store);
  const shopNav = page.getByRole('navigation', { name: 'Shop' });
  await shopNav.getByRole('link', { name: 'Create account' }).click();
  const who = { email: `new-${unique()}@example.com`, password: 'a long enough password' };
  await page.getByLabel('First name', { exact: true }).fill('Ann');
  await page.getByLabel('Email', { exact: true }).fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('main').getByRole('button', { name: 'Create account' }).click();
  await shopNav.getByRole('link', { name: 'Orders' }).waitFor();

  await shopNav.getByRole('link', { name: 'Cart' }).click();
  await page.getByRole('main').getByText('PAPER-LAMP-S').waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await shopNav.getByRole('link', { name: 'Sign in' }).waitFor();
  await shopperSignIn(page, BASE, store.slug, who);
  await shopNav.getByRole('link', { name: 'Orders' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your orders' }).waitFor();
});

/** From the cart to the filled payment form, as a guest. */
async function toPayment(page, store) {
  await page.goto(`${BASE}/s/${store.slug}/checkout`);
  const a = store.address;
  await page.getByLabel('Full name', { exact: true }).fill(a.name);
  await page.getByLabel('Address', { exact: true }).fill(a.line1);
  await page.getByLabel('City', { exact: true }).fill(a.city);
  await page.getByLabel('Postal code', { exact: true }).fill(a.postal_code);
  await page.getByRole('button', { name: 'Save address' }).click();
  await page.getByLabel('Email', { exact: true }).fill('ann@example.com');
  await page.getByLabel('Expiry date (MM/YY)', { exact: true }).fill('12/30');
  await page.getByLabel('Security code (CVC)', { exact: true }).fill('123');
}

journey('checkout says what is wrong next to the card field or the cart line', async (s) => {
  const store = await makeStore(BASE);
  const page = await s.page('shopper');
  await addPaperLamp(page, store);
  await toPayment(page, store);

  await page.getByLabel('Card number', { exact: true }).fill('4242424242424241');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.getByRole('alert').filter({ hasText: 'This card number is not valid. Check the digits and try again.' }).waitFor();

  // Sold out between adding and paying.
  await api(BASE, 'PUT', `/v1/stores/${store.slug}/inventory/PAPER-LAMP-S`, { token: store.token, body: { on_hand: 0 } });
  await toPayment(page, store);
  await page.getByLabel('Card number', { exact: true }).fill('4242424242424242');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.getByRole('alert').filter({ hasText: 'Sorry, some of these items are no longer in stock' }).waitFor();
  await page.getByRole('alert').filter({ hasText: 'Out of stock.' }).first().waitFor();
  await page.getByRole('link', { name: 'Change your cart' }).waitFor();
});

journey('the product page follows its stock live', async (s) => {
  const store = await makeStore(BASE);
  const page = await s.page('shopper');
  await page.goto(`${BASE}/s/${store.slug}/p/brass-lantern`);
  const main = page.getByRole('main');
  await main.getByText('In stock (50)').first().waitFor();
  await waitLive(page);
  await markDocument(page);
  await api(BASE, 'PUT', `/v1/stores/${store.slug}/inventory/BRASS-LANTERN-M`, { token: store.token, body: { on_hand: 0 } });
  await main.getByText('Out of stock').first().waitFor();
  await assertSameDocument(page);
});
