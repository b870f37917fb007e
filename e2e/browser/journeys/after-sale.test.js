//! After the sale in the admin: staff send an order (a shipment with tracking, marked shipped and
//! delivered), then take one unit back (return requested and received: refunded, back in stock),
//! each step shown on the order page.

import { BASE, STAFF_BASE, journey } from '../lib/harness.js';
import { makeCustomer, makeStore, placeOrder } from '../lib/fixture.js';
import { adminSignIn } from '../lib/pages.js';

journey('staff ship an order and receive a return of one unit', async (s) => {
  const store = await makeStore(BASE);
  const customer = await makeCustomer(BASE, store.slug);
  const [sku] = store.products[0].skus;
  const order = await placeOrder(BASE, store, customer, [sku]);

  const admin = await s.page('staff');
  await adminSignIn(admin, STAFF_BASE, store.slug, store.owner);
  await admin.goto(`${STAFF_BASE}/admin/${store.slug}/orders/${order.id}`);
  const notice = (text) => admin.getByRole('status').filter({ hasText: text }).waitFor();

  await admin.getByLabel('Carrier', { exact: true }).fill('DHL');
  await admin.getByLabel('Tracking number', { exact: true }).fill('JD0146');
  await admin.getByRole('button', { name: 'Create shipment' }).click();
  await notice('The shipment is created.');
  const shipment = admin.getByRole('region', { name: 'Shipment 1' });
  await shipment.getByRole('button', { name: 'Mark as shipped' }).click();
  await notice('The shipment is marked as shipped.');
  await shipment.getByRole('button', { name: 'Mark as delivered' }).click();
  await notice('The shipment is marked as delivered.');
  await admin.getByRole('region', { name: 'Shipment 1' }).getByText('delivered', { exact: true }).first().waitFor();

  await admin.getByLabel(new RegExp(`^Quantity of .* \\(${sku}\\) to return, up to 1$`)).fill('1');
  await admin.getByLabel('Reason (optional)', { exact: true }).fill('too small');
  await admin.getByRole('button', { name: 'Request return' }).click();
  await notice('The return is requested.');
  await admin.getByRole('region', { name: 'Return 1' }).getByRole('button', { name: 'Receive return' }).click();
  await notice('The return is received');
  await admin.getByRole('main').getByText('Return completed').first().waitFor();
});
