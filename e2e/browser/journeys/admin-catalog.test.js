//! The merchant's catalog work in the admin: a bulk import from pasted CSV with a report per line,
//! and stock set per SKU, both seen by the shopper on the storefront.

import { BASE, STAFF_BASE, eventually, journey } from '../lib/harness.js';
import { makeStore } from '../lib/fixture.js';
import { adminSignIn } from '../lib/pages.js';

journey('a merchant imports products from CSV and stocks one for the storefront', async (s) => {
  const store = await makeStore(BASE);
  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Products' }).click();
  await admin.getByRole('link', { name: 'Import products' }).click();
  await admin.getByLabel('Products (CSV)', { exact: true }).fill([
    'title,sku,price,status,category',
    'Marble Table Lamp,MTL-1,59.00,active,lamps',
    'Broken Line,BRK-1,not a price',
  ].join('\n'));
  await admin.getByRole('button', { name: 'Import products' }).click();
  await admin.getByRole('status').filter({ hasText: '1 created, 1 not created.' }).waitFor();
  const report = admin.getByRole('table', { name: 'What became of each line' });
  await report.getByText('Created.', { exact: true }).waitFor();
  await report.getByText(/^Not created: /).waitFor();

  await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Stock' }).click();
  await admin.getByLabel('SKU', { exact: true }).fill('MTL-1');
  await admin.getByRole('button', { name: 'Show stock' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Stock of MTL-1' }).waitFor();
  await admin.getByLabel('On hand', { exact: true }).fill('7');
  await admin.getByRole('button', { name: 'Save stock' }).click();
  await admin.getByRole('status').filter({ hasText: 'The stock is saved.' }).waitFor();

  const shop = await s.page('shopper');
  await shop.goto(`${BASE}/s/${store.slug}/search?q=marble`);
  await eventually(shop, () => shop.getByRole('main').getByRole('link', { name: 'Marble Table Lamp' }).first().isVisible());
  await shop.getByRole('main').getByRole('link', { name: 'Marble Table Lamp' }).first().click();
  await shop.getByRole('main').getByText('In stock (7)').waitFor();
});
