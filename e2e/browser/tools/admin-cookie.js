//! Signs in to the admin in Chromium through its sign-in form and prints the session's cookies
//! as one `Cookie` header value, for Lighthouse's --extra-headers (scripts/lighthouse.sh).
//!
//!   node tools/admin-cookie.js BASE_URL STORE EMAIL PASSWORD

import { launch } from '../lib/browser.js';

const [base, store, email, password] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${base}/admin`);
  await page.getByLabel('Store').fill(store);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith(`/admin/${store}`));
  const cookies = await page.context().cookies(`${base}/admin/${store}/orders`);
  process.stdout.write(cookies.map((c) => `${c.name}=${c.value}`).join('; '));
} finally {
  await browser.close();
}
