import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { proUserToken } from './users.ts';
import { createStack, type Stack } from '../stack/index.ts';

/**
 * Memory of the `upload` function while it streams files of different sizes to Storage: for each size and round,
 * a fresh Deno process for the function (the previous one is stopped; the runner cold-starts the next), warmed
 * up with one small upload, then the peak resident set (`VmHWM` in /proc/<pid>/status, reset just before with
 * `/proc/<pid>/clear_refs` = 5) during one upload of that size. If the body were buffered, the 45 MiB peak would
 * be at least 44 MiB above the 1 MiB one; streamed, they stay about the same. Figures only, no thresholds.
 *
 * The product caps documents at 50 MiB. To show that the peak stops growing once V8 starts collecting the consumed
 * chunks (it does so after tens of MiB of external memory), this throwaway stack raises the cap — bucket limit, Pro
 * plan limit and the function's `DOCUMENTS_MAX_UPLOAD_BYTES` — to 512 MiB, and the default sizes go past 50 MiB.
 *
 * Usage: npm run bench -- upload [--sizes 1,45,200] [--rounds 3] [--v8-flags --max-semi-space-size=1]
 */
export async function run(args: string[]): Promise<void> {
  if (process.platform !== 'linux') {
    console.error('bench upload: reads /proc/<pid>/status, so it runs on Linux only');
    process.exitCode = 2;
    return;
  }
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '1,45,200' },
      rounds: { type: 'string', default: '3' },
      sustained: { type: 'string', default: '4' },
      concurrent: { type: 'string', default: '4' },
      'v8-flags': { type: 'string', default: '' },
    },
  });
  const sizesMiB = values.sizes!.split(',').map(Number).filter((n) => n > 0 && n < CAP_MIB);
  const rounds = Math.max(1, Number(values.rounds));
  const sustained = Math.max(0, Number(values.sustained));
  const concurrent = Math.max(0, Number(values.concurrent));

  const v8Flags = values['v8-flags'] ? values['v8-flags'].split(',').filter(Boolean) : [];
  const project = await projectWithCap(CAP_MIB);
  const stack = await createStack({
    projectDir: project,
    ephemeral: true,
    apiPort: 0,
    dbPort: 0,
    seed: false,
    functions: { env: { DOCUMENTS_MAX_UPLOAD_BYTES: String(CAP_MIB * 1024 * 1024) }, v8Flags },
  });
  try {
    if (v8Flags.length > 0) console.log(`function processes run with V8 flags: ${v8Flags.join(' ')}`);
    await stack.db.query("update storage.buckets set file_size_limit = $1 where id = 'documents'", [CAP_MIB * 1024 * 1024]);
    await stack.db.query("update public.plans set max_upload_bytes = $1 where id = 'pro'", [CAP_MIB * 1024 * 1024]);
    const token = await proUserToken(stack);
    let canReset = true;
    const pids: number[] = [];

    const rows: Array<{ sizeMiB: number; round: number; pid: number; rssBeforeMiB: number; peakMiB: number; growthMiB: number; seconds: number; status: number }> = [];
    for (let round = 1; round <= rounds; round++) {
      for (const sizeMiB of sizesMiB) {
        const pid = await freshFunction(stack, token);
        pids.push(pid);
        canReset = (await resetPeak(pid)) && canReset;
        const before = await memory(pid);
        const started = performance.now();
        const status = await upload(stack, token, `bench-${sizeMiB}-${round}.txt`, sizeMiB * 1024 * 1024);
        const seconds = (performance.now() - started) / 1000;
        const after = await memory(pid);
        rows.push({
          sizeMiB,
          round,
          pid,
          rssBeforeMiB: mib(before.rss),
          peakMiB: mib(after.hwm),
          growthMiB: mib(after.hwm - before.rss),
          seconds: Number(seconds.toFixed(2)),
          status,
        });
      }
    }

    console.log(`\nupload function memory (a fresh Deno process per row; peak = VmHWM${canReset ? ', reset before the upload' : ', NOT resettable here: includes start-up'})\n`);
    console.log('| file | round | RSS before (MiB) | peak RSS during upload (MiB) | peak − before (MiB) | seconds | status |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(`| ${r.sizeMiB} MiB | ${r.round} | ${r.rssBeforeMiB} | ${r.peakMiB} | ${r.growthMiB} | ${r.seconds} | ${r.status} |`);
    }
    const summary = sizesMiB.map((sizeMiB) => {
      const mine = rows.filter((r) => r.sizeMiB === sizeMiB);
      return { sizeMiB, maxPeakMiB: Math.max(...mine.map((r) => r.peakMiB)), maxGrowthMiB: Math.max(...mine.map((r) => r.growthMiB)) };
    });
    console.log(`\nside by side (max over ${rounds} rounds): ${summary.map((s) => `${s.sizeMiB} MiB file → peak ${s.maxPeakMiB} MiB (+${s.maxGrowthMiB})`).join('  |  ')}`);
    if (summary.length >= 2) {
      const small = summary[0];
      const large = summary[summary.length - 1];
      console.log(
        `file ${large.sizeMiB - small.sizeMiB} MiB larger → peak RSS ${(large.maxPeakMiB - small.maxPeakMiB).toFixed(1)} MiB higher (a buffering upload would add ≥ ${large.sizeMiB - small.sizeMiB} MiB)`,
      );
    }

    // Sustained: one process, several large uploads in a row, peak never reset. Streaming keeps the peak where a
    // single upload puts it (garbage buffers are collected, not kept); buffering would add a file per upload in flight.
    const largest = Math.max(...sizesMiB.filter((n) => n <= 50), Math.min(...sizesMiB));
    const sustainedRows: Array<{ upload: number; streamedMiB: number; rssMiB: number; peakMiB: number; status: number }> = [];
    if (sustained > 0) {
      const pid = await freshFunction(stack, token);
      pids.push(pid);
      await resetPeak(pid);
      const start = await memory(pid);
      for (let i = 1; i <= sustained; i++) {
        const status = await upload(stack, token, `sustained-${i}.txt`, largest * 1024 * 1024);
        const now = await memory(pid);
        sustainedRows.push({ upload: i, streamedMiB: i * largest, rssMiB: mib(now.rss), peakMiB: mib(now.hwm), status });
      }
      console.log(`\nsustained: ${sustained} uploads of ${largest} MiB through one process (pid ${pid}, RSS ${mib(start.rss)} MiB before; peak not reset)\n`);
      console.log('| upload | MiB streamed so far | RSS after (MiB) | peak RSS so far (MiB) | status |');
      console.log('|---:|---:|---:|---:|---:|');
      for (const r of sustainedRows) console.log(`| ${r.upload} | ${r.streamedMiB} | ${r.rssMiB} | ${r.peakMiB} | ${r.status} |`);
      const first = sustainedRows[0];
      const last = sustainedRows[sustainedRows.length - 1];
      console.log(`\n${last.streamedMiB} MiB streamed → peak ${last.peakMiB} MiB; after the first ${first.streamedMiB} MiB it was ${first.peakMiB} MiB`);
    }
    // Concurrent: several large uploads in flight at once in one process. Buffered, they would need a file each.
    let concurrentResult: { uploads: number; inFlightMiB: number; rssBeforeMiB: number; peakMiB: number; statuses: number[] } | undefined;
    if (concurrent > 0) {
      const pid = await freshFunction(stack, token);
      pids.push(pid);
      await resetPeak(pid);
      const before = await memory(pid);
      const statuses = await Promise.all(
        Array.from({ length: concurrent }, (_, i) => upload(stack, token, `concurrent-${i}.txt`, largest * 1024 * 1024)),
      );
      const after = await memory(pid);
      concurrentResult = { uploads: concurrent, inFlightMiB: concurrent * largest, rssBeforeMiB: mib(before.rss), peakMiB: mib(after.hwm), statuses };
      console.log(
        `\nconcurrent: ${concurrent} uploads of ${largest} MiB at once (${concurrent * largest} MiB in flight, pid ${pid}): ` +
          `RSS ${mib(before.rss)} MiB before, peak ${mib(after.hwm)} MiB (+${mib(after.hwm - before.rss)}), statuses ${statuses.join(',')}`,
      );
    }
    console.log(
      '\nNote: V8 frees consumed request/response chunks only at its next GC, which external (ArrayBuffer) memory triggers after\n' +
        'tens of MiB; a single upload\'s peak therefore rises with its size up to that point, then stays flat however much is streamed.',
    );

    const resultsDir = new URL('./results/', import.meta.url);
    await mkdir(resultsDir, { recursive: true });
    const file = new URL(`upload-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, resultsDir);
    await writeFile(file, `${JSON.stringify({ benchmark: 'upload', pids, peakResettable: canReset, rows, summary, sustained: sustainedRows, concurrent: concurrentResult }, null, 2)}\n`);
    console.log(`\nwritten to ${file.pathname}`);
  } finally {
    await stack.stop();
    await rm(project, { recursive: true, force: true });
  }
}

/**
 * A temp copy of this project's `supabase/` whose storage limits allow `capMiB` (the product's stay at 50 MiB).
 * It lives under the git-ignored `.stack/` so Deno finds the repo's node_modules from there.
 */
async function projectWithCap(capMiB: number): Promise<string> {
  const parent = fileURLToPath(new URL('../.stack/', import.meta.url));
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, 'bench-upload-'));
  await cp(fileURLToPath(new URL('../supabase', import.meta.url)), join(dir, 'supabase'), { recursive: true });
  const configPath = join(dir, 'supabase', 'config.toml');
  const config = (await readFile(configPath, 'utf8')).replace(/file_size_limit = "50MiB"/g, `file_size_limit = "${capMiB}MiB"`);
  await writeFile(configPath, config);
  return dir;
}

/** Upload cap of this benchmark's own stack (the product's is 50 MiB). */
const CAP_MIB = 512;

const mib = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));


/** Uploads `size` bytes of text, generated as they are sent, with a Content-Length; returns the status. */
async function upload(stack: Stack, token: string, name: string, size: number): Promise<number> {
  const boundary = '----edgebrain-bench';
  const encoder = new TextEncoder();
  const head = encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`);
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let sent = 0;
  let stage: 'head' | 'body' | 'tail' | 'done' = 'head';
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (stage === 'head') {
        controller.enqueue(head);
        stage = 'body';
      } else if (stage === 'body') {
        const n = Math.min(chunk.length, size - sent);
        controller.enqueue(chunk.subarray(0, n));
        sent += n;
        if (sent >= size) stage = 'tail';
      } else if (stage === 'tail') {
        controller.enqueue(tail);
        stage = 'done';
      } else {
        controller.close();
      }
    },
  });
  const response = await fetch(`${stack.apiUrl}/functions/v1/upload`, {
    method: 'POST',
    // With a length, as a browser sends a FormData upload (Deno's server holds more for chunked bodies).
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + size + tail.length),
    },
    body,
    duplex: 'half',
  } as RequestInit);
  const text = await response.text();
  if (response.status !== 202) console.error(`upload of ${name} answered ${response.status}: ${text}`);
  return response.status;
}

/**
 * Stops the function's current Deno process (a child of this process, started by the stack's runner), lets the
 * runner cold-start a new one, warms it up with one small upload and returns its pid.
 */
async function freshFunction(stack: Stack, token: string): Promise<number> {
  const old = await functionPid('upload').catch(() => undefined);
  if (old !== undefined) {
    process.kill(old, 'SIGTERM');
    while (await functionPid('upload').then((pid) => pid === old, () => false)) await new Promise((r) => setTimeout(r, 50));
  }
  await fetch(`${stack.apiUrl}/functions/v1/upload/healthz`).then((r) => r.text());
  await upload(stack, token, `warm-up-${Date.now()}.txt`, 64 * 1024);
  return functionPid('upload');
}

/** The pid of the Deno process this Node process started for `name` (a child running its index.ts). */
async function functionPid(name: string): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (cmdline.some((arg) => arg.endsWith(`functions/${name}/index.ts`))) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no Deno process for function ${name} found among this process's children`);
}

/** Resets the peak RSS (VmHWM) of `pid` to its current RSS; false where the kernel does not allow it. */
async function resetPeak(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}
