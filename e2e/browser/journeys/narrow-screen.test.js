//! Issue 13 item 4: layouts work at 375 px wide — on a phone-sized viewport no storefront or
//! admin page is wider than the screen (nothing to scroll sideways; wide tables scroll inside
//! their own box), and the search box and main buttons are within it.

import assert from 'node:assert/strict';
import { BASE, STAFF_BASE, journey } from '../lib/harness.js';
import { makeStore } from '../lib/fixture.js';
import { adminSignIn } from '../lib/pages.js';

/** Notes in `wide` the document in `page` if it is wider than its 375 px viewport. */
async function checkFits(page, wide) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  }));
  if (scroll > inner) wide.push(`${new URL(page.url()).pathname} is ${scroll} px wide`);
}

journey('storefront and admin pages fit a 375 px wide screen', async (s) => {
  const store = await makeStore(BASE);
  const wide = [];
  const shop = await s.page('shopper', { width: 375, height: 812 });
  const product = store.products[0];
  for (const path of ['/', `/search?q=lamp`, `/p/${product.slug}`]) {
    await shop.goto(`${BASE}/s/${store.slug}${path}`);
    await shop.getByRole('heading', { level: 1 }).waitFor();
    await checkFits(shop, wide);
  }
  await shop.getByRole('button', { name: 'Add to cart' }).click();
  await shop.waitForURL(/added=true/);
  for (const path of ['/cart', '/checkout', '/sign-in', '/sign-up']) {
    await shop.goto(`${BASE}/s/${store.slug}${path}`);
    await shop.getByRole('heading', { level: 1 }).waitFor();
    await checkFits(shop, wide);
  }

  const admin = await s.page('staff', { width: 375, height: 812 });
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  for (const path of ['/', '/orders', '/products', '/products/new', '/products/import', '/categories',
    '/stock', '/customers', '/conversations', '/staff', '/api-clients']) {
    await admin.goto(`${STAFF_BASE}/admin/${store.slug}${path}`);
    await admin.getByRole('heading', { level: 1 }).waitFor();
    await checkFits(admin, wide);
  }
  assert.deepEqual(wide, [], 'pages wider than a 375 px screen');
});
