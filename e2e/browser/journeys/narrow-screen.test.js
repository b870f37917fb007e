//! Issue 13 item 4: layouts work at 375 px wide — on a phone-sized viewport no storefront or
//! admin page is wider than the screen (nothing to scroll sideways; wide tables scroll inside
//! their own box), and the search box and main buttons are within it.

import assert from 'node:assert/strict';
import { BASE, STAFF_BASE, journey } from '../lib/harness.js';
import { makeStore } from '../lib/fixture.js';
import { adminSignIn } from '../lib/pages.js';

/** Fails if the document in `page` is wider than its 375 px viewport. */
async function assertFits(page) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner, `${page.url()} is ${scroll} px wide on a ${inner} px screen`);
}

journey('storefront and admin pages fit a 375 px wide screen', async (s) => {
  const store = await makeStore(BASE);
  const shop = await s.page('shopper', { width: 375, height: 812 });
  const product = store.products[0];
  for (const path of ['/', `/search?q=lamp`, `/p/${product.slug}`]) {
    await shop.goto(`${BASE}/s/${store.slug}${path}`);
    await shop.getByRole('heading', { level: 1 }).waitFor();
    await assertFits(shop);
  }
  await shop.getByRole('button', { name: 'Add to cart' }).click();
  await shop.waitForURL(/added=true/);
  for (const path of ['/cart', '/checkout', '/sign-in']) {
    await shop.goto(`${BASE}/s/${store.slug}${path}`);
    await shop.getByRole('heading', { level: 1 }).waitFor();
    await assertFits(shop);
  }

  const admin = await s.page('staff', { width: 375, height: 812 });
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  for (const path of ['/', '/orders', '/products', '/products/new', '/conversations']) {
    await admin.goto(`${STAFF_BASE}/admin/${store.slug}${path}`);
    await admin.getByRole('heading', { level: 1 }).waitFor();
    await assertFits(admin);
  }
});
