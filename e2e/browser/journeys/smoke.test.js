//! Smoke: `/` brings a newcomer to the demo store's storefront, which loads in Chromium with its
//! landmarks, a heading and the search box, under a Content-Security-Policy without
//! 'unsafe-inline', and logs no console error and no CSP violation.

import assert from 'node:assert/strict';
import { BASE, journey } from '../lib/harness.js';

journey('the storefront home loads cleanly', async (s) => {
  const page = await s.page('shopper');
  const res = await page.goto(`${BASE}/`);
  assert.ok(res.ok(), `GET / answered ${res.status()}`);
  assert.equal(new URL(page.url()).pathname, '/s/demo/');
  const csp = res.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  for (const role of ['banner', 'main', 'contentinfo']) await page.getByRole(role).first().waitFor();
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.getByRole('searchbox', { name: 'Search' }).waitFor();
  await page.getByRole('navigation', { name: 'Shop' }).getByRole('link', { name: 'Cart' }).waitFor();
});
