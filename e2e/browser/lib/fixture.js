//! A store of the journeys' own, made through the public REST API: an owner with a known
//! password, a category, products with two sizes each in stock, shipping to Germany and VAT, so
//! that every journey starts from the same state in either topology (the distributed topology's
//! demo seed has no shipping or tax).

import { randomBytes } from 'node:crypto';

/** A problem answer (or a network failure) as an Error naming the call. */
async function call(base, method, path, { token, body, form, headers = {} } = {}) {
  const h = { ...headers };
  let payload;
  if (token) h.authorization = `Bearer ${token}`;
  if (form) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    h['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(base + path, { method, headers: h, body: payload });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 400)}`);
  return text ? JSON.parse(text) : null;
}

/** A short random suffix for slugs, e-mails and titles. */
export function unique() {
  return randomBytes(4).toString('hex');
}

const ADDRESS = {
  name: 'Ann Lee', line1: 'Invalidenstraße 117', city: 'Berlin', postal_code: '10115', country: 'DE',
};

/**
 * Provisions a store `e2e-<suffix>` and fills it. Returns what the journeys need to know:
 * its slug, the owner's credentials and token, and its products (title, slug, skus).
 */
export async function makeStore(base) {
  const id = unique();
  const slug = `e2e-${id}`;
  const owner = { email: `owner-${id}@example.com`, password: `owner password ${id}` };
  await call(base, 'POST', '/v1/stores', {
    body: { slug, name: `E2E Shop ${id}`, currency: 'EUR', owner },
  });
  const { access_token: token } = await call(base, 'POST', '/v1/oauth/token', {
    form: { grant_type: 'password', store: slug, username: owner.email, password: owner.password },
  });
  const s = `/v1/stores/${slug}`;
  await call(base, 'POST', `${s}/categories`, { token, body: { slug: 'lamps', name: 'Lamps' } });
  const products = [];
  for (const [pslug, title, price] of [
    ['brass-lantern', 'Brass Lantern', 4900],
    ['paper-lamp', 'Paper Lamp', 2500],
  ]) {
    const skus = ['S', 'M'].map((size) => `${pslug.toUpperCase()}-${size}`);
    const product = await call(base, 'POST', `${s}/products`, {
      token,
      body: {
        slug: pslug, title, category: 'lamps', status: 'active',
        description: `A ${title.toLowerCase()} for the journeys.`,
        options: [{ name: 'Size', values: ['S', 'M'] }],
        variants: ['S', 'M'].map((size, i) => ({
          sku: skus[i], title: size, price: { amount_minor: price + i * 500, currency: 'EUR' },
          weight_grams: 800, options: { Size: size },
        })),
      },
    });
    for (const sku of skus) {
      await call(base, 'PUT', `${s}/inventory/${sku}`, { token, body: { on_hand: 50, low_stock_threshold: 5 } });
    }
    products.push({ id: product.id, slug: pslug, title, skus });
  }
  const zone = await call(base, 'POST', `${s}/shipping-zones`, { token, body: { name: 'Germany', countries: ['DE'] } });
  await call(base, 'POST', `${s}/shipping-methods`, {
    token, body: { zone_id: zone.id, name: 'DHL Paket', flat_price_minor: 490 },
  });
  await call(base, 'PUT', `${s}/tax-rates`, { token, body: { zone_id: zone.id, category: 'standard', rate_bps: 1900 } });
  return { slug, owner, token, products, address: ADDRESS };
}

/** Signs up a customer of `store` through the API; returns the credentials. */
export async function makeCustomer(base, store) {
  const id = unique();
  const customer = { email: `shopper-${id}@example.com`, password: `shopper password ${id}`, first_name: 'Ann' };
  await call(base, 'POST', `/v1/stores/${store}/customers`, { body: customer });
  return customer;
}

/** The access token of a user of `store` (password grant). */
export async function signIn(base, store, { email, password }) {
  const { access_token: token } = await call(base, 'POST', '/v1/oauth/token', {
    form: { grant_type: 'password', store, username: email, password },
  });
  return token;
}

/**
 * A confirmed order of `customer` (signed in) for one unit of each of `skus`, shipped to
 * Germany and paid with the approving test card, placed through the API. Returns the order.
 */
export async function placeOrder(base, store, customer, skus) {
  const token = await signIn(base, store.slug, customer);
  const s = `/v1/stores/${store.slug}`;
  const cart = await call(base, 'POST', `${s}/carts`, { token });
  for (const sku of skus) {
    await call(base, 'POST', `${s}/carts/${cart.id}/items`, { token, body: { sku, quantity: 1 } });
  }
  await call(base, 'PUT', `${s}/carts/${cart.id}/addresses`, { token, body: { shipping_address: store.address } });
  const { options } = await call(base, 'GET', `${s}/carts/${cart.id}/shipping-methods`, { token });
  await call(base, 'PUT', `${s}/carts/${cart.id}/shipping-method`, { token, body: { method_id: options[0].method_id } });
  const pm = await call(base, 'POST', `${s}/payment-methods`, {
    token, body: { card_number: '4242424242424242', exp: '12/30', cvc: '123' },
  });
  return call(base, 'POST', `${s}/checkout`, {
    token,
    headers: { 'idempotency-key': `e2e-${unique()}` },
    body: { cart_id: cart.id, payment: { payment_method: pm.id, email: customer.email } },
  });
}

export { call as api };
