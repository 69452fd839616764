/**
 * A local stand-in for the part of Stripe's REST API that billing uses, speaking its wire format: form-encoded
 * request bodies with bracketed keys (`line_items[0][price]=…`), `Authorization: Bearer sk_…`, JSON answers, and
 * Stripe's error body `{error:{type, code, message, param}}` with its statuses (401 for a bad key, 400 for bad
 * parameters or a malformed `Stripe-Version`, 404 `resource_missing`). An `Idempotency-Key` is honoured as Stripe does: the same key with the same
 * parameters answers the first response again (`Idempotent-Replayed: true`), with other parameters a 400
 * `idempotency_error`.
 *
 * Resources: customers (create), Checkout Sessions (create), Customer Portal sessions (create), subscriptions
 * (retrieve; tests put them), products (retrieve, create with a chosen id, update) and prices (list by lookup key,
 * create with `transfer_lookup_key`, update). Every request is recorded with its headers and decoded body, so tests
 * assert what our code sends. stripe-node reaches it through its `host`/`port`/`protocol` options
 * (`STRIPE_API_BASE`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The account's default API version, for requests that name none. */
const API_VERSION = '2026-10-28.endive';

/** A form value as decoded: strings at the leaves, objects for `a[b]`, arrays for `a[0]`. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
type FormObject = { [key: string]: FormValue };
type Json = Record<string, unknown>;

/** One request as the fake received it. */
export interface RecordedStripeRequest {
  method: string;
  path: string;
  query: FormObject;
  headers: IncomingHttpHeaders;
  /** The body as sent (form-encoded). */
  raw: string;
  /** The body decoded like Stripe does. */
  form: FormObject;
  status: number;
  /** The answer was a replay of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

/** The running fake and what tests use to arrange Stripe's state and inspect requests. */
export interface FakeStripe {
  /** For `STRIPE_API_BASE`. */
  apiBase: string;
  secretKey: string;
  requests: RecordedStripeRequest[];
  customers: Map<string, Json>;
  subscriptions: Map<string, Json>;
  products: Map<string, Json>;
  prices: Map<string, Json>;
  /** Adds a recurring price (e.g. the one a plan checks out with) and returns it. */
  addPrice(fields: { id?: string; product?: string; unit_amount?: number; currency?: string; interval?: string; lookup_key?: string }): Json;
  /** Stores a subscription as Stripe would return it; later retrievals return this state. */
  putSubscription(subscription: Json): void;
  /** Requests with this method and path (exact). */
  requestsTo(method: string, path: string): RecordedStripeRequest[];
  close(): Promise<void>;
}

/** A Stripe-style id: prefix, underscore, 24 random characters. */
export function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24)}`;
}

/**
 * Decodes `application/x-www-form-urlencoded` with Stripe's bracket notation: `a[b][0][c]=x` becomes
 * `{a: {b: [{c: 'x'}]}}`. Numeric keys make arrays; every leaf stays a string, as on the wire.
 */
export function decodeStripeForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const keys = name.split('[').map((part, i) => (i === 0 ? part : part.replace(/]$/, '')));
    let node: FormObject | FormValue[] = root;
    keys.forEach((key, i) => {
      const last = i === keys.length - 1;
      const container = node as Record<string, FormValue>;
      const slot = Array.isArray(node) ? Number(key) : key;
      if (last) {
        (container as Record<string | number, FormValue>)[slot] = value;
        return;
      }
      const next = /^\d+$/.test(keys[i + 1]) ? [] : {};
      (container as Record<string | number, FormValue>)[slot] ??= next;
      node = (container as Record<string | number, FormValue>)[slot] as FormObject | FormValue[];
    });
  }
  return root;
}

/** A Stripe error answer. */
class StripeFailure extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

const missing = (kind: string, id: string, param?: string) =>
  new StripeFailure(404, 'invalid_request_error', `No such ${kind}: '${id}'`, 'resource_missing', param);
const required = (param: string) => new StripeFailure(400, 'invalid_request_error', `Missing required param: ${param}.`, 'parameter_missing', param);
const str = (value: FormValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);
const obj = (value: FormValue | undefined): FormObject => (value && typeof value === 'object' && !Array.isArray(value) ? value : {});
const now = () => Math.floor(Date.now() / 1000);

/** Starts the fake on a free port of 127.0.0.1. Requests must carry `Bearer <secretKey>`. */
export async function startFakeStripe(secretKey = `sk_test_${randomBytes(12).toString('hex')}`): Promise<FakeStripe> {
  const requests: RecordedStripeRequest[] = [];
  const customers = new Map<string, Json>();
  const subscriptions = new Map<string, Json>();
  const products = new Map<string, Json>();
  const prices = new Map<string, Json>();
  const idempotent = new Map<string, { method: string; path: string; raw: string; status: number; body: Json }>();

  function addPrice(fields: Parameters<FakeStripe['addPrice']>[0]): Json {
    const price: Json = {
      id: fields.id ?? stripeId('price'),
      object: 'price',
      active: true,
      currency: fields.currency ?? 'usd',
      unit_amount: fields.unit_amount ?? 1900,
      product: fields.product ?? stripeId('prod'),
      lookup_key: fields.lookup_key ?? null,
      recurring: { interval: fields.interval ?? 'month', interval_count: 1 },
      type: 'recurring',
      metadata: {},
      livemode: false,
      created: now(),
    };
    prices.set(price.id as string, price);
    return price;
  }

  function route(method: string, path: string, form: FormObject, query: FormObject): Json {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'v1') throw new StripeFailure(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
    const [, resource, id, ...rest] = parts;
    if (rest.length > 0) throw new StripeFailure(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);

    if (method === 'POST' && resource === 'customers' && !id) {
      const customer: Json = {
        id: stripeId('cus'),
        object: 'customer',
        email: str(form.email) ?? null,
        metadata: obj(form.metadata),
        created: now(),
        livemode: false,
      };
      customers.set(customer.id as string, customer);
      return customer;
    }
    if (method === 'POST' && resource === 'checkout' && id === 'sessions') {
      const mode = str(form.mode);
      if (!mode) throw required('mode');
      const customer = str(form.customer);
      if (customer && !customers.has(customer)) throw missing('customer', customer, 'customer');
      const items = Array.isArray(form.line_items) ? form.line_items : [];
      if (items.length === 0) throw required('line_items');
      items.forEach((item, i) => {
        const price = str(obj(item).price);
        if (!price) throw required(`line_items[${i}][price]`);
        if (!prices.has(price)) throw missing('price', price, `line_items[${i}][price]`);
      });
      for (const param of ['success_url', 'cancel_url']) if (mode !== 'setup' && !str(form[param])) throw required(param);
      const sessionId = stripeId('cs_test');
      return {
        id: sessionId,
        object: 'checkout.session',
        mode,
        status: 'open',
        customer: customer ?? null,
        client_reference_id: str(form.client_reference_id) ?? null,
        metadata: obj(form.metadata),
        success_url: str(form.success_url),
        cancel_url: str(form.cancel_url),
        subscription: null,
        url: `https://checkout.stripe.com/c/pay/${sessionId}`,
        livemode: false,
        created: now(),
      };
    }
    if (method === 'POST' && resource === 'billing_portal' && id === 'sessions') {
      const customer = str(form.customer);
      if (!customer) throw required('customer');
      if (!customers.has(customer)) throw missing('customer', customer, 'customer');
      const sessionId = stripeId('bps');
      return {
        id: sessionId,
        object: 'billing_portal.session',
        customer,
        return_url: str(form.return_url) ?? null,
        url: `https://billing.stripe.com/p/session/test_${sessionId}`,
        livemode: false,
        created: now(),
      };
    }
    if (method === 'GET' && resource === 'subscriptions' && id) {
      const subscription = subscriptions.get(id);
      if (!subscription) throw missing('subscription', id, 'id');
      return structuredClone(subscription);
    }
    if (resource === 'products') {
      if (method === 'GET' && id) {
        const product = products.get(id);
        if (!product) throw missing('product', id, 'id');
        return product;
      }
      if (method === 'POST' && !id) {
        const name = str(form.name);
        if (!name) throw required('name');
        const productId = str(form.id) ?? stripeId('prod');
        if (products.has(productId)) {
          throw new StripeFailure(400, 'invalid_request_error', `Product already exists.`, 'resource_already_exists', 'id');
        }
        const product: Json = { id: productId, object: 'product', name, active: true, metadata: obj(form.metadata), livemode: false, created: now() };
        products.set(productId, product);
        return product;
      }
      if (method === 'POST' && id) {
        const product = products.get(id);
        if (!product) throw missing('product', id, 'id');
        if (str(form.name)) product.name = str(form.name);
        if (form.metadata) product.metadata = { ...(product.metadata as Json), ...obj(form.metadata) };
        return product;
      }
    }
    if (resource === 'prices') {
      if (method === 'GET' && !id) {
        const keys = Array.isArray(query.lookup_keys) ? query.lookup_keys.map(String) : [];
        const active = str(query.active);
        const data = [...prices.values()].filter(
          (price) => (keys.length === 0 || keys.includes(price.lookup_key as string)) && (active === undefined || String(price.active) === active),
        );
        return { object: 'list', data, has_more: false, url: '/v1/prices' };
      }
      if (method === 'POST' && !id) {
        const product = str(form.product);
        if (!product) throw required('product');
        if (!products.has(product)) throw missing('product', product, 'product');
        const lookupKey = str(form.lookup_key);
        const holder = [...prices.values()].find((price) => lookupKey && price.lookup_key === lookupKey);
        if (holder && str(form.transfer_lookup_key) !== 'true') {
          throw new StripeFailure(400, 'invalid_request_error', `A price (\`${holder.id}\`) already uses that lookup key.`, 'lookup_key_in_use', 'lookup_key');
        }
        if (holder) holder.lookup_key = null;
        const price = addPrice({
          product,
          unit_amount: Number(str(form.unit_amount)),
          currency: str(form.currency),
          interval: str(obj(form.recurring).interval),
          lookup_key: lookupKey,
        });
        price.metadata = obj(form.metadata);
        return price;
      }
      if (method === 'POST' && id) {
        const price = prices.get(id);
        if (!price) throw missing('price', id, 'id');
        if (str(form.active)) price.active = str(form.active) === 'true';
        return price;
      }
    }
    throw new StripeFailure(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = Buffer.concat(chunks).toString('utf8');
      const record: RecordedStripeRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: decodeStripeForm(url.search.slice(1)),
        headers: req.headers,
        raw,
        form: decodeStripeForm(raw),
        status: 0,
        replayed: false,
      };
      requests.push(record);
      const answer = (status: number, body: Json, headers: Record<string, string> = {}) => {
        record.status = status;
        // Stripe answers in the version asked for (else the account's default), and says which.
        send(res, status, body, { 'stripe-version': String(req.headers['stripe-version'] ?? API_VERSION), ...headers });
      };
      if (req.headers.authorization !== `Bearer ${secretKey}`) {
        answer(401, errorBody(new StripeFailure(401, 'invalid_request_error', 'Invalid API Key provided.', 'api_key_invalid')));
        return;
      }
      const version = req.headers['stripe-version'];
      if (version !== undefined && !/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(String(version))) {
        answer(400, errorBody(new StripeFailure(400, 'invalid_request_error', `Invalid Stripe API version: ${version}`, 'invalid_api_version')));
        return;
      }
      const key = req.headers['idempotency-key'];
      const idempotencyKey = typeof key === 'string' ? key : undefined;
      const earlier = idempotencyKey ? idempotent.get(idempotencyKey) : undefined;
      if (earlier) {
        if (earlier.method !== record.method || earlier.path !== record.path || earlier.raw !== raw) {
          answer(
            400,
            errorBody(
              new StripeFailure(400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with.`),
            ),
          );
          return;
        }
        record.replayed = true;
        answer(earlier.status, earlier.body, { 'idempotent-replayed': 'true', 'idempotency-key': idempotencyKey! });
        return;
      }
      let status = 200;
      let body: Json;
      try {
        body = route(record.method, record.path, record.form, record.query);
      } catch (error) {
        if (!(error instanceof StripeFailure)) throw error;
        status = error.status;
        body = errorBody(error);
      }
      // Stripe stores the first answer to a key, errors included (except some server errors).
      if (idempotencyKey && record.method === 'POST') idempotent.set(idempotencyKey, { method: record.method, path: record.path, raw, status, body });
      answer(status, body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiBase: `http://127.0.0.1:${port}`,
    secretKey,
    requests,
    customers,
    subscriptions,
    products,
    prices,
    addPrice,
    putSubscription: (subscription) => subscriptions.set(subscription.id as string, structuredClone(subscription)),
    requestsTo: (method, path) => requests.filter((r) => r.method === method && r.path === path),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function errorBody(error: StripeFailure): Json {
  return {
    error: { type: error.type, message: error.message, ...(error.code && { code: error.code }), ...(error.param && { param: error.param }) },
  };
}

function send(res: ServerResponse, status: number, body: Json, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': stripeId('req'), ...headers });
  res.end(JSON.stringify(body));
}
