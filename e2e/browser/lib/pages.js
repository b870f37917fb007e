//! Steps the journeys share, each through the pages as a person uses them: controls found by
//! their role and accessible name (the labels are the contract between the pages and these
//! tests), forms submitted with their buttons.

import assert from 'node:assert/strict';

/** Signs in to the admin of `store` through the sign-in form at /admin. */
export async function adminSignIn(page, base, store, { email, password }) {
  await page.goto(`${base}/admin`);
  await page.getByLabel('Store', { exact: true }).fill(store);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith(`/admin/${store}`));
}

/** Signs a customer in on the storefront's sign-in page. */
export async function shopperSignIn(page, base, store, { email, password }) {
  await page.goto(`${base}/s/${store}/sign-in`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('main').getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.endsWith('/sign-in'));
}

/**
 * Marks the document now shown in `page`; `assertSameDocument` later fails if the page was
 * reloaded or navigated in between (a live update must arrive without either).
 */
export async function markDocument(page) {
  await page.evaluate(() => { window.__e2eMark = 'still here'; });
}

export async function assertSameDocument(page) {
  assert.equal(await page.evaluate(() => window.__e2eMark), 'still here', 'the page was reloaded');
}

/** Waits until the page's live script has subscribed to its channel over the WebSocket. */
export async function waitLive(page) {
  await page.locator('body[data-live="subscribed"]').waitFor({ state: 'attached' });
}
