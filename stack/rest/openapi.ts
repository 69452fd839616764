import type { PlainResponse } from '../gateway.ts';
import type { SchemaCache } from './schema-cache.ts';

/**
 * `GET /`: a compact OpenAPI 2.0 description of the exposed schema (tables, views, columns and functions), the
 * shape PostgREST serves at its root. It lists what the schema cache holds; privileges are not consulted.
 */
export function rootDocument(cache: SchemaCache, schema: string, apiUrl: string): PlainResponse {
  const url = new URL(apiUrl);
  const paths: Record<string, unknown> = { '/': { get: { produces: ['application/openapi+json', 'application/json'], responses: { 200: { description: 'OK' } }, summary: 'OpenAPI description (this document)', tags: ['Introspection'] } } };
  const definitions: Record<string, unknown> = {};
  for (const table of cache.tables.values()) {
    if (table.schema !== schema) continue;
    const ops: Record<string, unknown> = { get: { tags: [table.name], responses: { 200: { description: 'OK' } } } };
    if (table.kind === 'table') {
      for (const m of ['post', 'patch', 'delete']) ops[m] = { tags: [table.name], responses: { 201: { description: 'Created' } } };
    }
    paths[`/${table.name}`] = ops;
    definitions[table.name] = {
      type: 'object',
      required: table.columns.filter((c) => !c.nullable && !c.hasDefault).map((c) => c.name),
      properties: Object.fromEntries(
        table.columns.map((c) => [c.name, { format: c.type, ...(table.pk.includes(c.name) ? { description: 'Note:\nThis is a Primary Key.<pk/>' } : {}) }]),
      ),
    };
  }
  for (const [, list] of cache.routines) {
    for (const routine of list) {
      if (routine.schema !== schema) continue;
      paths[`/rpc/${routine.name}`] = {
        post: {
          tags: ['(rpc) ' + routine.name],
          parameters: [{ in: 'body', name: 'args', required: true, schema: { type: 'object', required: routine.params.filter((p) => p.required).map((p) => p.name), properties: Object.fromEntries(routine.params.map((p) => [p.name, { format: p.type }])) } }],
          responses: { 200: { description: 'OK' } },
        },
      };
    }
  }
  const doc = {
    swagger: '2.0',
    info: { title: 'edgebrain lite stack Data API', description: '', version: 'lite' },
    host: url.host,
    basePath: '/rest/v1',
    schemes: [url.protocol.replace(':', '')],
    consumes: ['application/json', 'application/vnd.pgrst.object+json', 'text/csv'],
    produces: ['application/json', 'application/vnd.pgrst.object+json', 'text/csv'],
    paths,
    definitions,
  };
  return { status: 200, headers: { 'content-type': 'application/openapi+json; charset=utf-8' }, body: JSON.stringify(doc) };
}
