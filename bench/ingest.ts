/**
 * Ingestion throughput: `npm run bench -- ingest [--pages 200] [--megabytes 3] [--messages 400]
 * [--settings defaults,large] [--timeout 180] [--max-seconds 480]`. `--timeout` bounds each document and each
 * queue drain (seconds); `--max-seconds` the whole run: no phase starts within a minute of it. A default run takes
 * about 2–3 minutes on 2 cores.
 *
 * How to read it
 *
 * - **PDF pages/s and Markdown MB/s, end to end**, on an ephemeral lite stack with its scheduler on, as production
 *   runs: a signed-in (Pro) user uploads through the `upload` function → the Storage trigger queues a pgmq message
 *   and kicks the worker through pg_net → the `worker` function (real Deno, hash embedder) extracts, chunks and
 *   embeds in slices, each slice queueing the next and kicking again → `ready`. Nothing calls the worker by hand.
 *   Timed from the upload request until a poll of the row (every 100 ms) sees `ready`.
 * - **Beside each, the same bytes in this Node process**: `parseDocument` → `chunkSections` → the hash embedder in
 *   batches of 64, the very modules the worker runs; the median of 3 runs. "× in-process" = pipeline time /
 *   in-process time: the price of queue hops, HTTP, the database and the work slicing repeats. The goal is ≤ 1.3×.
 * - **Where the pipeline's time goes**, from the worker's own log lines (one `slice done` per slice, one access-log
 *   line per invocation, both carrying the request id): `upload` = request → 202; `queue wait` = 202 → start of the
 *   invocation that ran the first slice; `extract Σ` / `embed Σ` = the sum of slice times (each from the previous
 *   event of the same invocation, or the document's previous slice: claim + download + parse + work + save);
 *   `between` = the rest (a slice's next message picked up by another invocation via pg_net, the last poll).
 *   `invocations` = those that ran a slice of the document (in brackets, all that ran meanwhile: every saved slice
 *   kicks the worker again, and most of those kicks find the message already taken). The worker's resident memory
 *   is printed too (the hosted limit is 256 MB).
 * - **The database alone** (probe, at the end): the RPCs' own INSERT and UPDATE for up to 1,000 chunks of the last
 *   Markdown document, over `pg` in rolled-back transactions, with the worker's payloads; then without the HNSW
 *   index and the full-text column, and only the JSON → vector casts. Compare with `embed Σ` and the in-process
 *   embed time: it shows how much of a slice is Postgres (PGlite, WASM, here) rather than HTTP or the worker.
 * - **Two worker settings**: `defaults` (sized for the hosted edge runtime's ~2 s CPU per request) and `large`
 *   (one extract slice up to 5,000 chunks, embed batches of 1,000): their difference is what slicing costs. The
 *   worker process is restarted with the other `WORKER_*` variables between them.
 * - **Queue messages/s**: tiny text documents (one chunk each, hence two messages: extract and embed) queued while
 *   the pg_net kicks are paused (Vault secrets renamed), then drained (a) by calling the worker function one
 *   invocation at a time with the secret key, and (b) by one pg_net kick, the scheduler doing the rest as in
 *   production; beside a loop of `pgmq.send` + `pgmq.read` + `pgmq.delete` over `pg` on a scratch queue of the same
 *   database, for as many messages.
 *
 * Figures only, no thresholds. The machine may be shared: compare the figures of one run with each other.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { denoBinary } from '../stack/functions/deno.ts';
import { proUserToken } from './users.ts';
import { createStack, type Stack } from '../stack/index.ts';
import { createEmbedder, type Embedder } from '../supabase/functions/_shared/embeddings/index.ts';
import { chunkSections, embeddingTextOf } from '../supabase/functions/_shared/ingest/chunk.ts';
import { parseDocument } from '../supabase/functions/_shared/ingest/parse.ts';
import { DEFAULT_LIMITS } from '../supabase/functions/_shared/ingest/types.ts';
import { createLogger } from '../supabase/functions/_shared/log.ts';
import { DEFAULT_RUN_OPTIONS } from '../supabase/functions/worker/app.ts';
import type { RunOptions } from '../supabase/functions/worker/run.ts';
import { textPdf } from '../tests/functions/_shared/ingest/fixtures.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PDF = 'application/pdf';
const MARKDOWN = 'text/markdown';
/** The batch the in-process run embeds in: the worker's default `embedBatch`. */
const IN_PROCESS_BATCH = DEFAULT_RUN_OPTIONS.embedBatch;
const IN_PROCESS_RUNS = 3;
const POLL_MS = 100;

/** A worker configuration: the run options it amounts to and the `WORKER_*` variables that set them. */
interface WorkerSettings {
  name: 'defaults' | 'large';
  options: RunOptions;
  env: Record<string, string>;
}

const SETTINGS: Record<WorkerSettings['name'], WorkerSettings> = {
  // As shipped: no WORKER_* variable set.
  defaults: { name: 'defaults', options: DEFAULT_RUN_OPTIONS, env: {} },
  // As large as it goes: the env schema's most chunks per extract slice (5,000); embed batches of 1,000, the Data
  // API's max_rows (config.toml), which caps the worker's select of chunks to embed (the schema would allow 1,024);
  // a slice time far below the runner's 400 s wall clock per request.
  large: {
    name: 'large',
    options: { ...DEFAULT_RUN_OPTIONS, sliceMs: 300_000, maxChunksPerSlice: 5_000, embedBatch: 1_000 },
    env: { WORKER_SLICE_MS: '300000', WORKER_MAX_CHUNKS_PER_SLICE: '5000', WORKER_EMBED_BATCH: '1000' },
  },
};

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      pages: { type: 'string', default: '200' },
      megabytes: { type: 'string', default: '3' },
      messages: { type: 'string', default: '400' },
      settings: { type: 'string', default: 'defaults,large' },
      timeout: { type: 'string', default: '180' },
      'max-seconds': { type: 'string', default: '480' },
    },
  });
  const pages = Math.max(1, Math.round(Number(values.pages)));
  const megabytes = Number(values.megabytes);
  const messages = Math.max(2, Math.round(Number(values.messages)));
  const timeoutMs = Math.max(10, Number(values.timeout)) * 1000;
  // The whole run's bound: no phase starts after it, and waits end at it.
  const deadline = Date.now() + Math.max(60, Number(values['max-seconds'])) * 1000;
  const settings = values.settings!.split(',').map((s) => s.trim()).filter(Boolean).map((name) => {
    const found = SETTINGS[name as WorkerSettings['name']];
    if (!found) throw new Error(`--settings: unknown "${name}" (use ${Object.keys(SETTINGS).join(', ')})`);
    return found;
  });
  if (pages > DEFAULT_LIMITS.maxPages) throw new Error(`--pages: the parser refuses PDFs of more than ${DEFAULT_LIMITS.maxPages} pages`);
  const textBytes = Math.round(megabytes * 1_000_000);
  // ASCII text: one character per byte; a little head room for the generator's last paragraph.
  if (!(textBytes > 0) || textBytes > DEFAULT_LIMITS.maxChars - 10_000) {
    throw new Error(`--megabytes: between 0 and ${((DEFAULT_LIMITS.maxChars - 10_000) / 1e6).toFixed(2)} (the parser refuses more than ${DEFAULT_LIMITS.maxChars.toLocaleString('en-US')} characters)`);
  }
  const benchStarted = performance.now();
  const elapsed = () => `${((performance.now() - benchStarted) / 1000).toFixed(0)} s`;

  // ---- Inputs ------------------------------------------------------------------------------------------------
  console.log(`generating a ${pages}-page PDF and ${megabytes} MB of Markdown…`);
  const pdfBytes = await generatePdf(pages);
  const markdownBytes = new TextEncoder().encode(generateMarkdown(textBytes));

  // ---- In process ----------------------------------------------------------------------------------------------
  const embedder = await createEmbedder({ provider: 'hash' }, { logger: createLogger({}, () => {}) });
  await inProcessOnce(await generatePdf(3), PDF, embedder); // warm-up: loads unpdf, the tokenizer tables, JIT
  await inProcessOnce(new TextEncoder().encode(generateMarkdown(50_000)), MARKDOWN, embedder);
  const inProcess = {
    pdf: await inProcessMedian('pdf', pdfBytes, PDF, embedder),
    text: await inProcessMedian('markdown', markdownBytes, MARKDOWN, embedder),
  };

  // ---- The stack -----------------------------------------------------------------------------------------------
  console.log(`[${elapsed()}] starting an ephemeral lite stack (scheduler on)…`);
  const workerLog = new WorkerLog();
  // The runner reads this object each time it boots a function process: changing it and restarting the worker
  // process switches settings within one stack.
  const functionEnv: Record<string, string> = { EMBEDDINGS_PROVIDER: 'hash' };
  const stack = await createStack({
    projectDir: REPO,
    ephemeral: true,
    apiPort: 0,
    dbPort: 0,
    seed: false,
    host: '127.0.0.1',
    functions: { env: functionEnv },
    log: (line) => workerLog.line(line),
  });
  const ctx: Ctx = { stack, token: '', log: workerLog, timeoutMs, deadline, elapsed };
  try {
    ctx.token = await proUserToken(stack);
    const pipeline: Partial<Record<WorkerSettings['name'], { settings: WorkerSettings; pdf: PipelineRun; text: PipelineRun }>> = {};
    let queue: QueueResult | undefined;
    let rawPgmq: RawPgmqResult | undefined;
    /** The settings that ran (later ones are skipped once the time bound is near). */
    const ran: WorkerSettings[] = [];
    for (const [i, s] of settings.entries()) {
      if (i > 0 && Date.now() > deadline - 60_000) {
        console.log(`[${elapsed()}] skipping worker settings "${s.name}": the run's bound (--max-seconds) is less than a minute away`);
        continue;
      }
      for (const name of Object.keys(functionEnv)) if (name.startsWith('WORKER_')) delete functionEnv[name];
      Object.assign(functionEnv, s.env);
      if (i > 0) await restartWorker(ctx);
      console.log(`[${elapsed()}] worker settings "${s.name}": ${describeSettings(s)}`);
      await warmUp(ctx, s.name);
      const pdf = await pipelineRun(ctx, s, { kind: 'pdf', name: `bench-${s.name}.pdf`, bytes: pdfBytes, type: PDF, pages });
      const text = await pipelineRun(ctx, s, { kind: 'text', name: `bench-${s.name}.md`, bytes: markdownBytes, type: MARKDOWN });
      pipeline[s.name] = { settings: s, pdf, text };
      ran.push(s);
      if (i === 0) {
        if (Date.now() > deadline - 60_000) console.log(`[${elapsed()}] skipping the queue phase: the run's bound (--max-seconds) is less than a minute away`);
        else {
          queue = await queuePhase(ctx, messages, s.name);
          rawPgmq = await rawPgmqLoop(ctx, queue.direct.messages || messages);
        }
      }
    }

    // The database's share of the slices' work, measured alone on the last Markdown document.
    const lastText = pipeline[ran[ran.length - 1].name]!.text;
    const probe = lastText.finished ? await storeProbe(ctx, lastText.documentId, embedder) : undefined;

    // ---- Report ----------------------------------------------------------------------------------------------
    const pdfInfo = `${pages}-page PDF, ${mb(pdfBytes.length)} MB, ${inProcess.pdf.chunks.toLocaleString('en-US')} chunks`;
    const textInfo = `Markdown, ${mb(markdownBytes.length)} MB, ${inProcess.text.chunks.toLocaleString('en-US')} chunks`;
    console.log(`\nIngestion end to end (upload → pgmq → worker in Deno via pg_net kicks → ready; hash embedder) vs the same work in process (Node, median of ${IN_PROCESS_RUNS})\n`);
    console.log('| document | path | seconds | throughput | × in-process | slices extract+embed | invocations | upload | queue wait | extract Σ | embed Σ | between |');
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const rows: Array<[string, 'pdf' | 'text', string]> = [['pdf', 'pdf', pdfInfo], ['text', 'text', textInfo]];
    for (const [, kind, info] of rows) {
      const ip = inProcess[kind];
      const unit = (seconds: number) => (kind === 'pdf' ? `${fmt(pages / seconds, 1)} pages/s` : `${fmt(markdownBytes.length / 1e6 / seconds, 2)} MB/s`);
      console.log(`| ${info} | in process (Node) | ${fmt(ip.ms / 1000, 2)} | ${unit(ip.ms / 1000)} | 1.00 | – | – | – | – | ${fmt((ip.openMs + ip.chunkMs) / 1000, 2)} | ${fmt(ip.embedMs / 1000, 2)} | – |`);
      for (const s of ran) {
        const r = pipeline[s.name]![kind];
        const b = r.breakdown;
        const seconds = r.ms / 1000;
        console.log(
          `| ${info} | pipeline, ${s.name} | ${r.finished ? fmt(seconds, 2) : `> ${fmt(seconds, 0)} (${r.status})`} | ${r.finished ? unit(seconds) : '–'} | ${r.finished ? `${fmt(r.ms / ip.ms, 2)}×` : '–'} | ` +
            `${b.extract.slices}+${b.embed.slices} | ${b.invocations} (${b.invocationsInWindow}) | ${fmt(b.uploadMs / 1000, 2)} | ${fmt(b.queueWaitMs / 1000, 2)} | ` +
            `${fmt(b.extract.ms / 1000, 2)} | ${fmt(b.embed.ms / 1000, 2)} | ${fmt(b.betweenMs / 1000, 2)} |`,
        );
      }
    }
    console.log('\n(invocations: worker invocations that ran a slice of the document (all worker invocations in its time window); Σ columns in seconds)');
    for (const s of ran) {
      for (const kind of ['pdf', 'text'] as const) {
        const r = pipeline[s.name]![kind];
        if (r.chunks !== inProcess[kind].chunks || r.embedded !== r.chunks) {
          console.log(`NOTE ${kind}, ${s.name}: the pipeline stored ${r.chunks} chunks (${r.embedded} embedded), in process made ${inProcess[kind].chunks}`);
        }
      }
    }

    if (probe) {
      const p = probe;
      console.log(
        `\nThe database alone (over pg, rolled back), storing ${p.chunks.toLocaleString('en-US')} chunks of the last Markdown document with the RPCs' own SQL ` +
          `(in process, embedding them takes ~${fmt((inProcess.text.embedMs * p.chunks) / inProcess.text.chunks / 1000, 2)} s):\n`,
      );
      console.log('| step | seconds |');
      console.log('|---|---:|');
      console.log(`| ingestion_save_chunks' INSERT (${fmt(p.chunksPayloadMb, 1)} MB of JSON) | ${fmt(p.insertChunksMs / 1000, 2)} |`);
      console.log(`| ingestion_save_embeddings' UPDATE (${fmt(p.embeddingsPayloadMb, 1)} MB of JSON, as the worker sends it) | ${fmt(p.storeEmbeddingsMs / 1000, 2)} |`);
      console.log(`| … the same without the HNSW index | ${fmt(p.storeEmbeddingsNoHnswMs / 1000, 2)} |`);
      console.log(`| … the same without the HNSW index and the generated fts column (+ GIN) | ${fmt(p.storeEmbeddingsNoHnswNoFtsMs / 1000, 2)} |`);
      console.log(`| only parsing that JSON and casting to vector | ${fmt(p.parseCastMs / 1000, 2)} |`);
      console.log(`| … with 9 significant digits per number (${fmt(p.embeddingsPayload9DigitsMb, 1)} MB; float4 round-trips) | ${fmt(p.parseCast9DigitsMs / 1000, 2)} |`);
      console.log(`| per embed slice, over all ${p.documentChunks.toLocaleString('en-US')} chunks: select the next ${DEFAULT_RUN_OPTIONS.embedBatch} without an embedding + the closing count | ${fmt(p.selectNextMs / 1000, 3)} + ${fmt(p.countMs / 1000, 3)} |`);
    }

    if (queue && rawPgmq) {
      console.log(`\nQueue: ${queue.direct.documents} tiny documents (1 chunk each: an extract and an embed message per document), worker settings "${ran[0].name}"\n`);
      console.log('| path | messages | invocations | seconds | messages/s | raw pgmq ÷ this |');
      console.log('|---|---:|---:|---:|---:|---:|');
      for (const [label, q] of [
        ['worker, called directly one invocation at a time', queue.direct],
        ['worker, scheduler-driven (one pg_net kick, then the slices kick)', queue.scheduled],
      ] as const) {
        console.log(`| ${label} | ${q.messages} | ${q.invocations} | ${fmt(q.seconds, 2)} | ${fmt(q.perSecond, 1)} | ${fmt(rawPgmq.perSecond / q.perSecond, 1)}× |`);
      }
      console.log(`| raw pgmq.send + pgmq.read + pgmq.delete over pg (scratch queue, same database) | ${rawPgmq.messages} | – | ${fmt(rawPgmq.seconds, 2)} | ${fmt(rawPgmq.perSecond, 1)} | 1.0× |`);
    }

    // One line per document and setting, for the README.
    console.log('');
    for (const [, kind] of rows) {
      const ip = inProcess[kind];
      const parts = ran.map((s) => {
        const r = pipeline[s.name]![kind];
        const rate = kind === 'pdf' ? `${fmt(pages / (r.ms / 1000), 1)} pages/s` : `${fmt(markdownBytes.length / 1e6 / (r.ms / 1000), 2)} MB/s`;
        return r.finished ? `${s.name} ${rate} (${fmt(r.ms / ip.ms, 1)}×)` : `${s.name} unfinished after ${fmt(r.ms / 1000, 0)} s`;
      });
      const inRate = kind === 'pdf' ? `${fmt(pages / (ip.ms / 1000), 1)} pages/s` : `${fmt(markdownBytes.length / 1e6 / (ip.ms / 1000), 2)} MB/s`;
      console.log(`${kind === 'pdf' ? `PDF ${pages} pages` : `Markdown ${mb(markdownBytes.length)} MB`}: pipeline ${parts.join(', ')} vs in process ${inRate} (goal ≤ 1.3×)`);
    }
    if (queue && rawPgmq) {
      console.log(
        `Queue: worker ${fmt(queue.direct.perSecond, 1)} messages/s (direct calls), ${fmt(queue.scheduled.perSecond, 1)} (pg_net-driven) vs raw pgmq ${fmt(rawPgmq.perSecond, 1)} messages/s (${fmt(rawPgmq.perSecond / queue.direct.perSecond, 0)}× / ${fmt(rawPgmq.perSecond / queue.scheduled.perSecond, 0)}×)`,
      );
    }
    if (workerLog.problems.length > 0) {
      console.log(`\nworker warnings/errors seen (${workerLog.problems.length}, first 5):`);
      for (const line of workerLog.problems.slice(0, 5)) console.log(`  ${line.slice(0, 300)}`);
    }

    const resultsDir = new URL('./results/', import.meta.url);
    await mkdir(resultsDir, { recursive: true });
    const file = new URL(`ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, resultsDir);
    const result = {
      benchmark: 'ingest',
      date: new Date().toISOString(),
      node: process.version,
      deno: denoVersion(),
      cpus: cpus().length,
      options: { pages, megabytes, messages, settings: settings.map((s) => s.name), ran: ran.map((s) => s.name), timeoutSeconds: timeoutMs / 1000, maxSeconds: Number(values['max-seconds']) },
      embedder: embedder.id,
      inputs: {
        pdf: { pages, bytes: pdfBytes.length, chunks: inProcess.pdf.chunks },
        text: { type: MARKDOWN, bytes: markdownBytes.length, chunks: inProcess.text.chunks },
      },
      inProcess,
      pipeline: Object.fromEntries(
        Object.entries(pipeline).map(([name, p]) => [
          name,
          {
            settings: { ...p.settings.options, env: p.settings.env },
            pdf: { ...p.pdf, pagesPerSecond: round(pages / (p.pdf.ms / 1000), 2), overRatio: round(p.pdf.ms / inProcess.pdf.ms, 3) },
            text: { ...p.text, megabytesPerSecond: round(markdownBytes.length / 1e6 / (p.text.ms / 1000), 3), overRatio: round(p.text.ms / inProcess.text.ms, 3) },
          },
        ]),
      ),
      inProcessRates: {
        pdfPagesPerSecond: round(pages / (inProcess.pdf.ms / 1000), 2),
        textMegabytesPerSecond: round(markdownBytes.length / 1e6 / (inProcess.text.ms / 1000), 3),
      },
      storeProbe: probe,
      queue,
      rawPgmq,
      workerProblems: workerLog.problems,
      totalSeconds: round((performance.now() - benchStarted) / 1000, 1),
    };
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwritten to ${file.pathname} (${elapsed()} in all)`);
  } finally {
    await stack.stop();
  }
}

// ---- Inputs ----------------------------------------------------------------------------------------------------

/** A deterministic generator (mulberry32), so every run ingests the same bytes. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = (
  'the of and to in is that for it as with was on be by at this from or an are which have not but had they his her ' +
  'she he you we their there been one all would will more when who if no so can what about out up into them than ' +
  'other some could time only new these two may first then do any like now my such also over its well back after ' +
  'most where how our very just through even because much many those good great own same long still here both under ' +
  'every while last never three again another might each world year day house life way part place case point group ' +
  'number fact system program question work government night water room mother area money story month lot right ' +
  'study book eye job word business issue side kind head far power hand high small large next early young important ' +
  'few public bad able invoice contract shipment warehouse quarterly revenue forecast policy customer supplier ' +
  'engineering maintenance schedule compliance audit report analysis summary appendix section figure table'
).split(' ');

/** Prose of at least `chars` characters: sentences of 8–21 words, some with a number. */
function prose(next: () => number, chars: number): string {
  let text = '';
  while (text.length < chars) {
    const words: string[] = [];
    const count = 8 + Math.floor(next() * 14);
    for (let i = 0; i < count; i++) words.push(VOCABULARY[Math.floor(next() * VOCABULARY.length)]);
    if (next() < 0.25) words.splice(1 + Math.floor(next() * (count - 1)), 0, String(Math.floor(next() * 100_000)));
    const sentence = words.join(' ');
    text += `${text === '' ? '' : ' '}${sentence[0].toUpperCase()}${sentence.slice(1)}.`;
  }
  return text;
}

/** Markdown of exactly `bytes` ASCII bytes: chapters (`#`) of four sections (`##`) of five paragraphs each. */
export function generateMarkdown(bytes: number): string {
  const next = random(7);
  const parts: string[] = [];
  let length = 0;
  for (let chapter = 1; length < bytes; chapter++) {
    const add = (text: string) => {
      parts.push(text);
      length += text.length;
    };
    add(`# Chapter ${chapter}\n\n`);
    for (let section = 1; section <= 4 && length < bytes; section++) {
      add(`## Section ${chapter}.${section}\n\n`);
      for (let p = 0; p < 5 && length < bytes; p++) add(`${prose(next, 300 + Math.floor(next() * 500))}\n\n`);
    }
  }
  return parts.join('').slice(0, bytes).trimEnd().padEnd(bytes, '.');
}

/**
 * A PDF of `pages` full pages of prose (Helvetica 12 pt, lines of at most 88 characters, a blank line between
 * paragraphs): about 3,000 characters, 3–5 chunks, per page, like a dense report.
 */
export async function generatePdf(pages: number): Promise<Uint8Array> {
  const next = random(11);
  const all: string[][] = [];
  for (let page = 0; page < pages; page++) {
    const lines: string[] = [];
    let room = 700; // points of page height the fixture allows (14 per line, 28 per blank line)
    for (;;) {
      const paragraph: string[] = [];
      let line = '';
      for (const word of prose(next, 250 + next() * 450).split(' ')) {
        if (line !== '' && line.length + 1 + word.length > 88) {
          paragraph.push(line);
          line = word;
        } else line = line === '' ? word : `${line} ${word}`;
      }
      paragraph.push(line);
      const cost = paragraph.length * 14 + 28;
      if (cost > room) break;
      room -= cost;
      lines.push(...paragraph, '');
    }
    all.push(lines);
  }
  return textPdf(all);
}

// ---- In process ------------------------------------------------------------------------------------------------

interface InProcessRun {
  /** Whole run: open/parse + extract and chunk + embed. */
  ms: number;
  /** parseDocument (for a PDF: opening it; for text: decoding and finding sections). */
  openMs: number;
  /** Iterating the sections (PDF pages are read here) through the chunker. */
  chunkMs: number;
  embedMs: number;
  chunks: number;
}

async function inProcessOnce(bytes: Uint8Array, type: string, embedder: Embedder): Promise<InProcessRun> {
  const t0 = performance.now();
  const parsed = await parseDocument(bytes, type);
  const t1 = performance.now();
  const texts: string[] = [];
  try {
    for await (const chunk of chunkSections(parsed.sections())) texts.push(chunk.embeddingText);
  } finally {
    await parsed.close();
  }
  const t2 = performance.now();
  let vectors = 0;
  for (let i = 0; i < texts.length; i += IN_PROCESS_BATCH) vectors += (await embedder.embed(texts.slice(i, i + IN_PROCESS_BATCH))).length;
  const t3 = performance.now();
  if (vectors !== texts.length) throw new Error('embedder returned the wrong number of vectors');
  return { ms: round(t3 - t0, 1), openMs: round(t1 - t0, 1), chunkMs: round(t2 - t1, 1), embedMs: round(t3 - t2, 1), chunks: texts.length };
}

async function inProcessMedian(label: string, bytes: Uint8Array, type: string, embedder: Embedder): Promise<InProcessRun & { runsMs: number[] }> {
  const runs: InProcessRun[] = [];
  for (let i = 1; i <= IN_PROCESS_RUNS; i++) {
    runs.push(await inProcessOnce(bytes, type, embedder));
    const r = runs[runs.length - 1];
    console.log(`in process: ${label} run ${i}/${IN_PROCESS_RUNS}: ${fmt(r.ms / 1000, 2)} s (open ${fmt(r.openMs / 1000, 2)}, extract+chunk ${fmt(r.chunkMs / 1000, 2)}, embed ${fmt(r.embedMs / 1000, 2)}; ${r.chunks} chunks)`);
  }
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  return { ...sorted[Math.floor(sorted.length / 2)], runsMs: runs.map((r) => r.ms) };
}

// ---- The stack: user, uploads, the worker's log ----------------------------------------------------------------

interface Ctx {
  stack: Stack;
  token: string;
  log: WorkerLog;
  /** Per document (and per queue drain). */
  timeoutMs: number;
  /** Date.now() by which the whole run ends. */
  deadline: number;
  elapsed: () => string;
}


/** Uploads a file through the `upload` function as the user, as a browser's FormData does; returns the 202 body. */
async function upload(ctx: Ctx, name: string, bytes: Uint8Array, type: string): Promise<{ id: string; path: string }> {
  const form = new FormData();
  form.append('file', new Blob([bytes as BlobPart], { type }), name);
  const response = await fetch(`${ctx.stack.apiUrl}/functions/v1/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.token}` },
    body: form,
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`upload of ${name} answered ${response.status}: ${text}`);
  return JSON.parse(text) as { id: string; path: string };
}

/** One JSON log line of the worker function. */
interface WorkerEvent {
  /** The line's own `time` (Deno's clock, the same wall clock as Date.now() here). */
  at: number;
  level: string;
  msg: string;
  request_id?: string;
  document_id?: string;
  stage?: string;
  outcome?: string;
  method?: string;
  path?: string;
  status?: number;
  duration_ms?: number;
}

/** Collects the worker function's log lines (the runner forwards each process's stdout/stderr to the stack log). */
class WorkerLog {
  readonly events: WorkerEvent[] = [];
  readonly problems: string[] = [];
  /** Date.now() when the last worker line arrived. */
  lastLineAt = 0;
  /** Set while the benchmark itself stops the worker process, so its exit is not reported as a problem. */
  expectExit = false;

  line(line: string): void {
    const match = /^\[functions:worker\] (.*)$/.exec(line);
    if (!match) return;
    this.lastLineAt = Date.now();
    let event: WorkerEvent & { time?: string };
    try {
      event = JSON.parse(match[1]);
    } catch {
      // Deno.serve's start-up line, the runner's boot line, and the exit of a process the benchmark stopped.
      if (/^(Listening on |booting )/.test(match[1]) || (this.expectExit && match[1].startsWith('exited (SIGTERM'))) return;
      this.problems.push(match[1]);
      return;
    }
    if ((event.level === 'warn' || event.level === 'error') && !String(event.msg).includes('dev-only lexical embedder')) {
      this.problems.push(match[1]);
    }
    this.events.push({ ...event, at: Date.parse(event.time ?? '') || Date.now() });
  }

  /** The worker's access-log lines: invocations of `POST …/worker`, with when they started and ended. */
  invocations(): Map<string, { start: number; end: number }> {
    const out = new Map<string, { start: number; end: number }>();
    for (const e of this.events) {
      if (e.msg === 'request' && e.method === 'POST' && e.path?.endsWith('/worker') && e.request_id) {
        out.set(e.request_id, { start: e.at - (e.duration_ms ?? 0), end: e.at });
      }
    }
    return out;
  }

  /** `slice done` / `slice failed` lines, optionally of one document. */
  slices(documentIds?: Set<string>, since = 0): WorkerEvent[] {
    return this.events
      .filter((e) => (e.msg === 'slice done' || e.msg === 'slice failed') && e.at >= since && (!documentIds || documentIds.has(e.document_id ?? '')))
      .sort((a, b) => a.at - b.at);
  }
}

/** Where a document's pipeline time went, from the worker's log. */
interface Breakdown {
  uploadMs: number;
  queueWaitMs: number;
  extract: { slices: number; ms: number };
  embed: { slices: number; ms: number };
  betweenMs: number;
  failedSlices: number;
  /** Slices whose invocation's access-log line was not found (their time is then counted as waiting). */
  unmatchedSlices: number;
  /** Invocations that ran a slice of the document. */
  invocations: number;
  /** Worker invocations that overlapped the document's time window (including those that found nothing to do). */
  invocationsInWindow: number;
}

function breakdown(log: WorkerLog, id: string, times: { start: number; answered: number; end: number }): Breakdown {
  const invocations = log.invocations();
  const slices = log.slices(new Set([id]), times.start);
  const previous = new Map<string, number>();
  const result: Breakdown = {
    uploadMs: times.answered - times.start,
    queueWaitMs: 0,
    extract: { slices: 0, ms: 0 },
    embed: { slices: 0, ms: 0 },
    betweenMs: 0,
    failedSlices: 0,
    unmatchedSlices: 0,
    invocations: new Set(slices.map((s) => s.request_id)).size,
    invocationsInWindow: [...invocations.values()].filter((r) => r.end >= times.start && r.start <= times.end).length,
  };
  let firstStart: number | undefined;
  let lastDone: number | undefined;
  for (const slice of slices) {
    const key = slice.request_id ?? '';
    // A document has one message at a time, so its slice starts after its previous slice was saved, whichever
    // invocation ran that; an invocation started earlier was waiting for the message (or for the database).
    const known = previous.get(key) ?? invocations.get(key)?.start;
    if (known === undefined) result.unmatchedSlices += 1;
    const from = Math.max(known ?? slice.at, lastDone ?? -Infinity);
    previous.set(key, slice.at);
    lastDone = slice.at;
    firstStart ??= from;
    const bucket = slice.stage === 'extract' ? result.extract : result.embed;
    bucket.slices += 1;
    bucket.ms += slice.at - from;
    if (slice.msg === 'slice failed') result.failedSlices += 1;
  }
  result.queueWaitMs = firstStart === undefined ? 0 : Math.max(0, firstStart - times.answered);
  result.betweenMs = times.end - times.start - result.uploadMs - result.queueWaitMs - result.extract.ms - result.embed.ms;
  return result;
}

async function queueDepth(ctx: Ctx): Promise<number> {
  return (await ctx.stack.db.query<{ n: number }>('select count(*)::int as n from pgmq.q_document_ingestion')).rows[0].n;
}

/** Waits until no ingestion message is left and the worker has been quiet for half a second (at most 15 s). */
async function settle(ctx: Ctx): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await queueDepth(ctx)) === 0 && Date.now() - ctx.log.lastLineAt >= 500) return;
    await sleep(100);
  }
}

/** Stops the worker's Deno process (a child of this process); the runner boots a new one, with the current env, on the next request. */
async function restartWorker(ctx: Ctx): Promise<void> {
  await settle(ctx);
  const pid = await functionPid('worker');
  if (pid === undefined) return;
  ctx.log.expectExit = true;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while ((await functionPid('worker')) === pid && Date.now() < deadline) await sleep(50);
  await sleep(200);
  ctx.log.expectExit = false;
}

/** The pid of the Deno process this Node process started for function `name`, if one runs. */
async function functionPid(name: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
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
  return undefined;
}

/** Resident set and peak resident set (VmHWM) of the worker's Deno process, if it runs (Linux). */
async function workerMemory(): Promise<{ rssMiB: number; peakMiB: number } | undefined> {
  const pid = await functionPid('worker');
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: round(kib('VmRSS') / 1024, 1), peakMiB: round(kib('VmHWM') / 1024, 1) };
  } catch {
    return undefined;
  }
}

/** A small PDF and a small Markdown file through the whole pipeline: boots the functions and loads the parsers. */
async function warmUp(ctx: Ctx, label: string): Promise<void> {
  const started = Date.now();
  const ids = [
    (await upload(ctx, `warm-up-${label}.pdf`, await generatePdf(3), PDF)).id,
    (await upload(ctx, `warm-up-${label}.md`, new TextEncoder().encode(generateMarkdown(20_000)), MARKDOWN)).id,
  ];
  for (const id of ids) {
    for (;;) {
      const { rows } = await ctx.stack.db.query<{ status: string; error: string | null }>('select status::text, error from public.documents where id = $1', [id]);
      if (rows[0]?.status === 'ready') break;
      if (rows[0]?.status === 'failed') throw new Error(`warm-up document failed: ${rows[0].error}`);
      if (Date.now() - started > 60_000) throw new Error(`warm-up document still ${rows[0]?.status} after 60 s`);
      await sleep(POLL_MS);
    }
  }
  await settle(ctx);
  console.log(`[${ctx.elapsed()}] warm-up (${label}): upload and worker processes up, a 3-page PDF and a small Markdown file ready in ${fmt((Date.now() - started) / 1000, 1)} s`);
}

// ---- End to end ------------------------------------------------------------------------------------------------

interface PipelineRun {
  documentId: string;
  finished: boolean;
  status: string;
  error: string | null;
  /** Upload request → `ready` seen (or the timeout). */
  ms: number;
  chunks: number;
  embedded: number;
  breakdown: Breakdown;
  /** The worker's Deno process when the document was ready: resident set and its peak so far (MiB). */
  workerMemory?: { rssMiB: number; peakMiB: number };
}

interface DocumentRow {
  status: string;
  progress: { stage: string; done: number; total: number | null; unit: string } | null;
  chunk_count: number;
  error: string | null;
}

async function pipelineRun(
  ctx: Ctx,
  settings: WorkerSettings,
  input: { kind: 'pdf' | 'text'; name: string; bytes: Uint8Array; type: string; pages?: number },
): Promise<PipelineRun> {
  const label = `${input.kind === 'pdf' ? 'pdf' : 'markdown'} (${settings.name})`;
  console.log(`[${ctx.elapsed()}] ${label}: uploading ${input.name} (${mb(input.bytes.length)} MB)…`);
  const start = Date.now();
  const { id, path } = await upload(ctx, input.name, input.bytes, input.type);
  const answered = Date.now();
  let row: DocumentRow;
  let lastPrint = answered;
  let lastShown = '';
  for (;;) {
    row = (await ctx.stack.db.query<DocumentRow>('select status::text, progress, chunk_count, error from public.documents where id = $1', [id])).rows[0];
    if (!row || row.status === 'ready' || row.status === 'failed' || Date.now() > Math.min(start + ctx.timeoutMs, ctx.deadline)) break;
    const shown = describeProgress(row);
    if (shown !== lastShown && Date.now() - lastPrint >= 1000) {
      console.log(`  ${label}: ${fmt((Date.now() - start) / 1000, 1)} s, ${shown}…`);
      lastPrint = Date.now();
      lastShown = shown;
    }
    await sleep(POLL_MS);
  }
  const end = Date.now();
  const memory = await workerMemory();
  const finished = row?.status === 'ready';
  if (!finished) {
    console.log(`  ${label}: ${row?.status === 'failed' ? `FAILED: ${row.error}` : `not ready after ${fmt((end - start) / 1000, 0)} s (${row ? describeProgress(row) : 'row gone'}); removing it`}`);
    // Removing the object removes the row and its queued messages (Storage triggers), so nothing keeps running.
    await ctx.stack.db.query("delete from storage.objects where bucket_id = 'documents' and name = $1", [path]);
  }
  await settle(ctx);
  const counts = (
    await ctx.stack.db.query<{ chunks: number; embedded: number }>(
      'select count(*)::int as chunks, count(embedding)::int as embedded from public.document_chunks where document_id = $1',
      [id],
    )
  ).rows[0];
  const result: PipelineRun = {
    documentId: id,
    finished,
    status: row?.status ?? 'gone',
    error: row?.error ?? null,
    ms: end - start,
    chunks: counts.chunks,
    embedded: counts.embedded,
    breakdown: breakdown(ctx.log, id, { start, answered, end }),
    workerMemory: memory,
  };
  const b = result.breakdown;
  const rate = input.kind === 'pdf' ? `${fmt(input.pages! / (result.ms / 1000), 1)} pages/s` : `${fmt(input.bytes.length / 1e6 / (result.ms / 1000), 2)} MB/s`;
  console.log(
    `  ${label}: ${finished ? 'ready' : result.status} in ${fmt(result.ms / 1000, 2)} s${finished ? ` (${rate})` : ''}: ${result.chunks} chunks; ` +
      `${b.extract.slices} extract + ${b.embed.slices} embed slices in ${b.invocations} invocations; upload ${fmt(b.uploadMs / 1000, 2)} s, ` +
      `queue wait ${fmt(b.queueWaitMs / 1000, 2)} s, extract Σ ${fmt(b.extract.ms / 1000, 2)} s, embed Σ ${fmt(b.embed.ms / 1000, 2)} s, between ${fmt(b.betweenMs / 1000, 2)} s` +
      (memory ? `; worker RSS ${memory.rssMiB} MiB (peak ${memory.peakMiB})` : ''),
  );
  return result;
}

function describeProgress(row: DocumentRow): string {
  const p = row.progress;
  if (!p) return row.status;
  if (p.stage === 'extracting' && p.unit === 'pages') return `${p.done}/${p.total ?? '?'} pages extracted`;
  if (p.stage === 'extracting') return `${p.done.toLocaleString('en-US')} chunks extracted`;
  return `${p.done.toLocaleString('en-US')}/${(p.total ?? 0).toLocaleString('en-US')} chunks embedded`;
}

// ---- Queue -----------------------------------------------------------------------------------------------------

interface DrainResult {
  documents: number;
  messages: number;
  invocations: number;
  seconds: number;
  perSecond: number;
  ready: number;
}

interface QueueResult {
  direct: DrainResult;
  scheduled: DrainResult;
  /** The worker settings the queue was drained with. */
  settings: string;
}

/** Renames the Vault secrets the kicks read, so `private.kick_worker()` sends nothing (as on a project without them). */
async function pauseKicks(ctx: Ctx): Promise<void> {
  await ctx.stack.db.query("update vault.secrets set name = 'bench_paused_' || name where name in ('project_url', 'worker_secret')");
}

async function resumeKicks(ctx: Ctx): Promise<void> {
  await ctx.stack.db.query("update vault.secrets set name = substr(name, 14) where name in ('bench_paused_project_url', 'bench_paused_worker_secret')");
}

/** Uploads `count` tiny text documents (one short chunk each), four at a time. */
async function uploadTiny(ctx: Ctx, prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  const next = random(23);
  let started = 0;
  let lastPrint = Date.now();
  const one = async () => {
    while (started < count) {
      const i = started++;
      const text = `Note ${i} (${prefix}). ${prose(next, 120)}\n`;
      ids.push((await upload(ctx, `tiny-${prefix}-${i}.txt`, new TextEncoder().encode(text), 'text/plain')).id);
      if (Date.now() - lastPrint >= 2000) {
        console.log(`  queue (${prefix}): ${ids.length}/${count} tiny documents uploaded…`);
        lastPrint = Date.now();
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, one));
  return ids;
}

async function readyCount(ctx: Ctx, ids: string[]): Promise<number> {
  return (await ctx.stack.db.query<{ n: number }>("select count(*)::int as n from public.documents where id = any($1::uuid[]) and status = 'ready'", [ids])).rows[0].n;
}

/** Calls the worker function once, as pg_net does (the secret key as bearer and apikey). */
async function callWorker(ctx: Ctx): Promise<{ handled: unknown[]; stopped: string }> {
  const response = await fetch(`${ctx.stack.apiUrl}/functions/v1/worker`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.stack.keys.secret}`, apikey: ctx.stack.keys.secret, 'content-type': 'application/json' },
    body: '{}',
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`worker answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

async function queuePhase(ctx: Ctx, messages: number, settingsName: string): Promise<QueueResult> {
  const documents = Math.ceil(messages / 2);
  console.log(`[${ctx.elapsed()}] queue: ${documents} tiny documents, pg_net kicks paused while they are uploaded…`);
  await pauseKicks(ctx);
  let direct: DrainResult;
  let scheduledIds: string[];
  try {
    // (a) Drained by calling the worker ourselves, one invocation at a time: nothing else runs it meanwhile.
    const ids = await uploadTiny(ctx, 'direct', documents);
    const depth = await queueDepth(ctx);
    console.log(`  queue (direct): ${depth} messages queued; calling the worker until it reports the queue idle…`);
    const since = Date.now();
    const t0 = performance.now();
    let handled = 0;
    let invocations = 0;
    const progress = setInterval(() => console.log(`  queue (direct): ${ctx.log.slices(undefined, since).length} messages handled…`), 2000);
    try {
      for (;;) {
        const report = await callWorker(ctx);
        invocations += 1;
        handled += report.handled.length;
        if (report.stopped === 'idle' || Date.now() > Math.min(since + ctx.timeoutMs, ctx.deadline)) break;
      }
    } finally {
      clearInterval(progress);
    }
    const seconds = (performance.now() - t0) / 1000;
    direct = { documents, messages: handled, invocations, seconds: round(seconds, 3), perSecond: round(handled / seconds, 2), ready: await readyCount(ctx, ids) };
    console.log(`  queue (direct): ${handled} messages in ${fmt(seconds, 2)} s over ${invocations} invocations (${fmt(handled / seconds, 1)}/s); ${direct.ready}/${documents} documents ready`);
    scheduledIds = await uploadTiny(ctx, 'scheduled', documents);
  } finally {
    await resumeKicks(ctx);
  }

  // (b) Drained as production does: one kick; every slice's save kicks again; pg_net runs up to 8 at once.
  console.log(`  queue (scheduler): ${await queueDepth(ctx)} messages queued; one pg_net kick, the scheduler does the rest…`);
  const since = Date.now();
  const t0 = performance.now();
  await ctx.stack.db.query('select private.kick_worker()');
  let ready = 0;
  let lastPrint = Date.now();
  while (Date.now() < Math.min(since + ctx.timeoutMs, ctx.deadline)) {
    ready = await readyCount(ctx, scheduledIds);
    if (ready === scheduledIds.length) break;
    if (Date.now() - lastPrint >= 2000) {
      console.log(`  queue (scheduler): ${ready}/${scheduledIds.length} documents ready…`);
      lastPrint = Date.now();
    }
    await sleep(POLL_MS);
  }
  const seconds = (performance.now() - t0) / 1000;
  await settle(ctx);
  const slices = ctx.log.slices(new Set(scheduledIds), since);
  const scheduled: DrainResult = {
    documents,
    messages: slices.length,
    invocations: new Set(slices.map((s) => s.request_id)).size,
    seconds: round(seconds, 3),
    perSecond: round(slices.length / seconds, 2),
    ready,
  };
  console.log(`  queue (scheduler): ${slices.length} messages in ${fmt(seconds, 2)} s over ${scheduled.invocations} invocations (${fmt(slices.length / seconds, 1)}/s); ${ready}/${documents} documents ready`);
  return { direct, scheduled, settings: settingsName };
}

interface RawPgmqResult {
  messages: number;
  seconds: number;
  perSecond: number;
}

/** `messages` × (pgmq.send, pgmq.read of one, pgmq.delete) over one pg connection, on a scratch queue. */
async function rawPgmqLoop(ctx: Ctx, messages: number): Promise<RawPgmqResult> {
  console.log(`[${ctx.elapsed()}] raw pgmq: ${messages} × send + read + delete over pg on a scratch queue…`);
  const client = new pg.Client({ connectionString: ctx.stack.dbUrl });
  await client.connect();
  const queue = 'bench_ingest_scratch';
  try {
    // Simple-protocol statements (no bind parameters): each is one message to the lite stack's socket server, which
    // serialises messages, not statements; an unnamed prepared statement outside a transaction can be dropped by
    // another connection's query between Parse and Bind ("unnamed prepared statement does not exist").
    await client.query(`select pgmq.create('${queue}')`);
    const once = async (i: number) => {
      // A message like the worker's: {"kind","document_id","generation","stage","next_page","next_chunk"}.
      const message = { kind: 'document', document_id: '00000000-0000-4000-8000-000000000000', generation: 0, stage: 'extract', next_page: 1, next_chunk: i };
      await client.query(`select pgmq.send('${queue}', ${client.escapeLiteral(JSON.stringify(message))}::jsonb)`);
      const { rows } = await client.query<{ msg_id: string }>(`select msg_id from pgmq.read('${queue}', 30, 1)`);
      if (rows.length !== 1) throw new Error('pgmq.read returned no message');
      await client.query(`select pgmq.delete('${queue}', ${BigInt(rows[0].msg_id)}::bigint)`);
    };
    for (let i = 0; i < 20; i++) await once(i); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < messages; i++) await once(i);
    const seconds = (performance.now() - t0) / 1000;
    const result = { messages, seconds: round(seconds, 3), perSecond: round(messages / seconds, 1) };
    console.log(`  raw pgmq: ${messages} messages in ${fmt(seconds, 2)} s (${fmt(result.perSecond, 1)}/s)`);
    return result;
  } finally {
    await client.query(`select pgmq.drop_queue('${queue}')`).catch(() => {});
    await client.end().catch(() => {});
  }
}

// ---- The database's share -------------------------------------------------------------------------------------

/** Embeddings the probe stores: one `large` embed slice. */
const PROBE_CHUNKS = 1_000;

interface StoreProbeResult {
  documentId: string;
  /** Chunks of the document (the per-slice queries run over all of them). */
  documentChunks: number;
  /** Chunks stored by the probe's INSERT and UPDATEs (the document's first ones). */
  chunks: number;
  chunksPayloadMb: number;
  /** The embeddings payload as the worker builds it (each vector a JSON string of float64 numbers), and with 9 significant digits. */
  embeddingsPayloadMb: number;
  embeddingsPayload9DigitsMb: number;
  /** `ingestion_save_chunks`'s INSERT … SELECT FROM jsonb_array_elements (generated `fts` column, GIN, btrees). */
  insertChunksMs: number;
  /** `ingestion_save_embeddings`'s UPDATE … FROM jsonb_array_elements, with every index. */
  storeEmbeddingsMs: number;
  /** The same UPDATE without the HNSW index (dropped in the rolled-back transaction). */
  storeEmbeddingsNoHnswMs: number;
  /** The same UPDATE without the HNSW index and without the generated `fts` column and its GIN index. */
  storeEmbeddingsNoHnswNoFtsMs: number;
  /** Only parsing the payload and casting each embedding to `vector` (a SELECT, nothing stored), as sent / with 9 digits. */
  parseCastMs: number;
  parseCast9DigitsMs: number;
  /** Per embed slice, over the whole document: the worker's select of the next chunks without an embedding (none left here, the worst case) and the RPC's closing count. */
  selectNextMs: number;
  countMs: number;
}

/**
 * Runs the statements the worker's RPCs run to store chunks and embeddings, over pg in transactions that are
 * rolled back, on the first {@link PROBE_CHUNKS} chunks of a ready document, with payloads built as the worker builds
 * them. Tells how much of a slice is the database's own work, apart from HTTP, the Data API and the worker, and
 * what in that work costs most (the payload's size, the HNSW index, the full-text column).
 */
async function storeProbe(ctx: Ctx, documentId: string, embedder: Embedder): Promise<StoreProbeResult> {
  console.log(`[${ctx.elapsed()}] probe: the RPCs' INSERT and UPDATE alone on ${PROBE_CHUNKS} chunks, over pg, rolled back…`);
  const client = new pg.Client({ connectionString: ctx.stack.dbUrl });
  await client.connect();
  const timed = async (sql: string, params: unknown[]) => {
    const t0 = performance.now();
    await client.query(sql, params);
    return round(performance.now() - t0, 1);
  };
  /** Runs `work` in a transaction that is always rolled back. */
  const rolledBack = async <T>(work: () => Promise<T>): Promise<T> => {
    await client.query('begin');
    try {
      return await work();
    } finally {
      await client.query('rollback');
    }
  };
  try {
    // Every statement runs inside a transaction: the lite stack's socket server keeps a connection exclusive only
    // while it is in one, and these carry megabytes of bind parameters (see rawPgmqLoop).
    const { documentChunks, rows, hasFts } = await rolledBack(async () => ({
      documentChunks: (await client.query<{ n: number }>('select count(*)::int as n from public.document_chunks where document_id = $1', [documentId])).rows[0].n,
      rows: (
        await client.query<{ owner_id: string; chunk_index: number; content: string; token_count: number; metadata: Record<string, unknown> }>(
          'select owner_id, chunk_index, content, token_count, metadata from public.document_chunks where document_id = $1 order by chunk_index limit $2',
          [documentId, PROBE_CHUNKS],
        )
      ).rows,
      hasFts:
        (await client.query("select 1 from information_schema.columns where table_schema = 'public' and table_name = 'document_chunks' and column_name = 'fts'")).rows.length > 0,
    }));
    if (rows.length === 0) throw new Error(`probe: document ${documentId} has no chunks`);
    const last = rows[rows.length - 1].chunk_index;
    const chunksPayload = JSON.stringify(rows.map(({ chunk_index, content, token_count, metadata }) => ({ chunk_index, content, token_count, metadata })));
    const vectors = await embedder.embed(rows.map((r) => embeddingTextOf(typeof r.metadata.context === 'string' ? r.metadata.context : '', r.content)));
    // As `saveEmbeddings` in the worker's queue.ts sends them.
    const embeddingsPayload = JSON.stringify(rows.map((r, i) => ({ chunk_index: r.chunk_index, embedding: JSON.stringify(vectors[i]) })));
    // pgvector stores float4, which 9 significant digits round-trip exactly.
    const embeddingsPayload9 = JSON.stringify(rows.map((r, i) => ({ chunk_index: r.chunk_index, embedding: JSON.stringify(vectors[i].map((x) => Number(x.toPrecision(9)))) })));

    const UPDATE = `update public.document_chunks c set embedding = (e ->> 'embedding')::extensions.vector
                      from pg_catalog.jsonb_array_elements($2::jsonb) e
                     where c.document_id = $1 and c.chunk_index = (e ->> 'chunk_index')::integer`;
    const CLEAR = 'update public.document_chunks set embedding = null where document_id = $1 and chunk_index <= $2';
    const storeEmbeddingsMs = await rolledBack(async () => {
      await client.query(CLEAR, [documentId, last]);
      return timed(UPDATE, [documentId, embeddingsPayload]);
    });
    const storeEmbeddingsNoHnswMs = await rolledBack(async () => {
      await client.query('drop index public.document_chunks_embedding_idx');
      await client.query(CLEAR, [documentId, last]);
      return timed(UPDATE, [documentId, embeddingsPayload]);
    });
    const storeEmbeddingsNoHnswNoFtsMs = await rolledBack(async () => {
      await client.query('drop index public.document_chunks_embedding_idx');
      if (hasFts) await client.query('alter table public.document_chunks drop column fts');
      await client.query(CLEAR, [documentId, last]);
      return timed(UPDATE, [documentId, embeddingsPayload]);
    });
    const insertChunksMs = await rolledBack(async () => {
      await client.query('delete from public.document_chunks where document_id = $1 and chunk_index <= $2', [documentId, last]);
      return timed(
        `insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, metadata)
         select $1, $2, (c ->> 'chunk_index')::integer, c ->> 'content', (c ->> 'token_count')::integer, coalesce(c -> 'metadata', '{}'::jsonb)
           from pg_catalog.jsonb_array_elements($3::jsonb) c
         on conflict on constraint document_chunks_document_id_chunk_index_key do update
           set content = excluded.content, token_count = excluded.token_count, metadata = excluded.metadata, embedding = null`,
        [documentId, rows[0].owner_id, chunksPayload],
      );
    });
    const CAST = `select count((e ->> 'embedding')::extensions.vector) from pg_catalog.jsonb_array_elements($1::jsonb) e`;
    const { parseCastMs, parseCast9DigitsMs, selectNextMs, countMs } = await rolledBack(async () => ({
      parseCastMs: await timed(CAST, [embeddingsPayload]),
      parseCast9DigitsMs: await timed(CAST, [embeddingsPayload9]),
      // What the Data API runs for embedSlice's select (as SQL), and the count closing ingestion_save_embeddings.
      selectNextMs: await timed(
        'select chunk_index, content, metadata from public.document_chunks where document_id = $1 and embedding is null order by chunk_index limit $2',
        [documentId, DEFAULT_RUN_OPTIONS.embedBatch],
      ),
      countMs: await timed('select count(*), count(*) filter (where c.embedding is null) from public.document_chunks c where c.document_id = $1', [documentId]),
    }));
    return {
      documentId,
      documentChunks,
      chunks: rows.length,
      chunksPayloadMb: round(chunksPayload.length / 1e6, 2),
      embeddingsPayloadMb: round(embeddingsPayload.length / 1e6, 2),
      embeddingsPayload9DigitsMb: round(embeddingsPayload9.length / 1e6, 2),
      insertChunksMs,
      storeEmbeddingsMs,
      storeEmbeddingsNoHnswMs,
      storeEmbeddingsNoHnswNoFtsMs,
      parseCastMs,
      parseCast9DigitsMs,
      selectNextMs,
      countMs,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

// ---- Helpers ---------------------------------------------------------------------------------------------------

function describeSettings(s: WorkerSettings): string {
  const o = s.options;
  const env = Object.entries(s.env).map(([k, v]) => `${k}=${v}`).join(' ');
  return `sliceMs ${o.sliceMs}, maxChunksPerSlice ${o.maxChunksPerSlice}, embedBatch ${o.embedBatch}, budgetMs ${o.budgetMs}, concurrency ${o.concurrency}, leaseSeconds ${o.leaseSeconds} (${env || 'no WORKER_* variable set'})`;
}

function denoVersion(): string | undefined {
  try {
    return execFileSync(denoBinary(), ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number, digits: number) => Number(n.toFixed(digits));
const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
