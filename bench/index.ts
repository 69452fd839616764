/**
 * Benchmark runner: `npm run bench -- <name> [--flags]`. Each benchmark is a module in this folder exporting
 * `run(args)`; results are printed and written as JSON to `bench/results/` (git-ignored).
 */
const BENCHMARKS: Record<string, () => Promise<{ run: (args: string[]) => Promise<void> }>> = {
  ingest: () => import('./ingest.ts'),
  chat: () => import('./chat.ts'),
  rest: () => import('./rest.ts'),
  upload: () => import('./upload.ts'),
  search: () => import('./search.ts'),
  load: () => import('./load.ts'),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const load = name ? BENCHMARKS[name] : undefined;
  if (!load) {
    console.error(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]`);
    process.exitCode = 2;
    return;
  }
  const bench = await load();
  await bench.run(args);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
