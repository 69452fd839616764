/**
 * Run by deno.test.ts under real Deno: parses and chunks each `path::mimeType` argument with the same code the
 * Node tests use and prints the results (or errors) as JSON.
 */
import { ingest, outcome } from './ingest.ts';

declare const Deno: { args: string[]; readFile(path: string): Promise<Uint8Array> };

const results = [];
for (const argument of Deno.args) {
  const [path, mimeType] = argument.split('::');
  const bytes = await Deno.readFile(path);
  results.push(await outcome(() => ingest(bytes, mimeType)));
}
console.log(JSON.stringify(results));
