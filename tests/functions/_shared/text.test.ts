import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { createFunctionApp } from '../../../supabase/functions/_shared/app.ts';
import { findNul } from '../../../supabase/functions/_shared/text.ts';

function app() {
  const handled: unknown[] = [];
  const demo = createFunctionApp({ name: 'demo', description: 'A demo function.', logger: { log() {}, child() { return this; } } });
  demo.openapi(
    createRoute({
      method: 'post',
      path: '/items',
      request: {
        query: z.object({ tag: z.string().optional() }),
        body: { required: true, content: { 'application/json': { schema: z.looseObject({ name: z.string() }) } } },
      },
      responses: { 200: { description: 'ok' } },
    }),
    (c) => {
      handled.push(c.req.valid('json'));
      return c.body(null, 200);
    },
  );
  return { demo, handled };
}

describe('findNul', () => {
  it('finds U+0000 in nested strings and keys and names the path', () => {
    expect(findNul({ a: [{ b: 'ok' }, { c: 'x\u0000' }] })).toBe('a.1.c');
    expect(findNul({ ['k\u0000']: 1 })).toBe('k\\u0000');
    expect(findNul({ a: ['fine', 1, null, true], b: { c: 'still fine' } })).toBeUndefined();
  });
});

describe('createFunctionApp: the NUL guard', () => {
  it('refuses U+0000 in a JSON body, also in fields the schema passes through, before the handler', async () => {
    const { demo, handled } = app();
    const headers = { 'content-type': 'application/json' };
    const extra = await demo.request('/demo/items', { method: 'POST', headers, body: JSON.stringify({ name: 'n', note: ['\u0000'] }) });
    expect(extra.status).toBe(400);
    expect(await extra.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'json.note.0', code: 'invalid_string', message: 'Must not contain the NUL character (\\u0000).' }],
      },
    });
    const query = await demo.request('/demo/items?tag=%00', { method: 'POST', headers, body: JSON.stringify({ name: 'n' }) });
    expect((await query.json()).error.details[0].path).toBe('query.tag');
    expect(handled).toEqual([]);
    const fine = await demo.request('/demo/items', { method: 'POST', headers, body: JSON.stringify({ name: 'tab\there' }) });
    expect(fine.status).toBe(200);
    expect(handled).toEqual([{ name: 'tab\there' }]);
  });
});
