//! Smoke: the storefront at `/` loads in Chromium with a heading and a search box, and logs no
//! console error and no Content-Security-Policy violation.

import assert from 'node:assert/strict';
import { BASE, journey } from '../lib/harness.js';

journey('the storefront home loads cleanly', async (s) => {
  const page = await s.page('shopper');
  const res = await page.goto(`${BASE}/`);
  assert.ok(res.ok(), `GET / answered ${res.status()}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  await page.getByRole('searchbox').or(page.getByRole('textbox', { name: /search/i })).first().waitFor();
  assert.match(res.headers()['content-security-policy'] ?? '', /script-src/);
});
