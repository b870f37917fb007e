//! The shopper's way to an order (issue 13 item 5): a search with a typo finds the product, two
//! of its variants go into the cart, checkout with the approving test card confirms the order;
//! the declined test card shows its plain-language message and leaves the cart as it was.
//! Test cards: crates/payments/TEST_CARDS.md.

import { BASE, journey } from '../lib/harness.js';
import { makeStore } from '../lib/fixture.js';

const APPROVED = '4242424242424242';
const DECLINED = '4000000000000002';

/** Finds the Brass Lantern by a misspelt search and adds its sizes S and M to the cart. */
async function fillCart(page, store) {
  await page.goto(`${BASE}/s/${store.slug}/`);
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.fill('brass lantren');
  await search.press('Enter');
  await page.getByRole('main').getByRole('link', { name: 'Brass Lantern' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Brass Lantern' }).waitFor();
  for (const size of ['S', 'M']) {
    await page.getByRole('radio', { name: new RegExp(`^${size} — `) }).check();
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.waitForURL(/added=true/);
    await page.getByRole('status').filter({ hasText: 'Added to your cart.' }).waitFor();
  }
}

/** Opens the cart and checks that both sizes are in it. */
async function assertCartHolds(page, store) {
  await page.goto(`${BASE}/s/${store.slug}/cart`);
  const main = page.getByRole('main');
  for (const sku of store.products[0].skus) await main.getByText(sku).first().waitFor();
}

/** Goes from the cart through checkout as a guest with `card`, up to pressing "Place order". */
async function checkout(page, store, card) {
  await page.goto(`${BASE}/s/${store.slug}/cart`);
  await page.getByRole('main').getByRole('link', { name: 'Checkout' }).click();
  await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();
  const a = store.address;
  await page.getByLabel('Full name', { exact: true }).fill(a.name);
  await page.getByLabel('Address', { exact: true }).fill(a.line1);
  await page.getByLabel('City', { exact: true }).fill(a.city);
  await page.getByLabel('Postal code', { exact: true }).fill(a.postal_code);
  await page.getByLabel('Country', { exact: true }).selectOption('DE');
  await page.getByRole('button', { name: 'Save address' }).click();
  await page.getByRole('radio', { name: /^DHL Paket — / }).check();
  await page.getByLabel('Email', { exact: true }).fill('ann@example.com');
  await page.getByLabel('Card number', { exact: true }).fill(card);
  await page.getByLabel('Expiry date (MM/YY)', { exact: true }).fill('12/30');
  await page.getByLabel('Security code (CVC)', { exact: true }).fill('123');
  await page.getByRole('button', { name: 'Place order' }).click();
}

journey('a shopper finds a product by a typo, buys two sizes and sees the order confirmed', async (s) => {
  const store = await makeStore(BASE);
  const page = await s.page('shopper');
  await fillCart(page, store);
  await assertCartHolds(page, store);
  await checkout(page, store, APPROVED);
  await page.getByRole('heading', { level: 1, name: 'Thank you for your order' }).waitFor();
  await page.getByRole('status').filter({ hasText: /^Order #\d+ is Confirmed/ }).waitFor();
});

journey('a declined card shows its message and leaves the cart intact', async (s) => {
  const store = await makeStore(BASE);
  const page = await s.page('shopper');
  await fillCart(page, store);
  await checkout(page, store, DECLINED);
  await page.getByRole('alert').filter({ hasText: 'Your card was declined. Try another card.' }).waitFor();
  await assertCartHolds(page, store);
});
