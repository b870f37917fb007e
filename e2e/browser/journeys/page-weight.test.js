//! Issue 13 item 4: the storefront's home and a product page transfer under 150 KB on a cold
//! load (a new browser context: empty cache), counting every response's headers and body as
//! received.

import assert from 'node:assert/strict';
import { BASE, journey } from '../lib/harness.js';
import { api } from '../lib/fixture.js';

const LIMIT = 150 * 1024;

/** Loads `url` in a fresh context of `s`; returns the bytes received for it and its resources. */
async function coldLoad(s, who, url) {
  const page = await s.page(who);
  const sizes = [];
  page.on('requestfinished', (req) => sizes.push(req.sizes().then((z) => z.responseHeadersSize + z.responseBodySize)));
  const res = await page.goto(url, { waitUntil: 'load' });
  assert.ok(res.ok(), `${url} answered ${res.status()}`);
  await page.waitForLoadState('networkidle');
  return (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
}

journey('the home and a product page transfer under 150 KB cold', async (s) => {
  // The demo store: a full home page (its categories and products) and a real product.
  const { items } = await api(BASE, 'GET', '/v1/stores/demo/products?per_page=1');
  const home = await coldLoad(s, 'home', `${BASE}/s/demo/`);
  const product = await coldLoad(s, 'product', `${BASE}/s/demo/p/${items[0].slug}`);
  console.log(`cold load: home ${(home / 1024).toFixed(1)} KB, product page ${(product / 1024).toFixed(1)} KB`);
  assert.ok(home < LIMIT, `home transferred ${home} bytes`);
  assert.ok(product < LIMIT, `product page transferred ${product} bytes`);
});
