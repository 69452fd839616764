/**
 * `npm run bench -- chat [--chunks 10000] [--questions 40] [--tokens 300]`
 *
 * How to read it: a signed-in user with `chunks` chunks (one ready document, embedded by the dev `hash` embedder)
 * asks questions through `POST /functions/v1/chat` (gateway → real Deno → retrieval → the model), with a fake
 * OpenAI-compatible model on loopback as the model. Both clocks are this process's, so they compare:
 * - time to first token: when the client reads the first `text-delta`, counted from sending the question, beside
 *   the fake model's own time to first token (from receiving the model request to writing its first token). The
 *   difference is what the function adds: auth, counting the question, storing it, history, embedding the
 *   question, hybrid search, building the prompt (goal: ≤ 15 ms at p50);
 * - pass-through: `tokens` tokens streamed as fast as the fake can write, read through the function, beside the same
 *   stream read straight from the fake: the added time per token.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createEmbedder } from '../supabase/functions/_shared/embeddings/index.ts';
import { createStack } from '../stack/index.ts';
import { startFakeOpenAIChat } from '../tests/functions/_shared/llm/fake-openai-chat.ts';
import { signUpUser } from '../tests/helpers/stack.ts';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const round = (n: number) => Number(n.toFixed(2));

/** Reads an SSE response until its end; returns when the first `text-delta` and the last one arrived. */
async function readStream(response: Response): Promise<{ first: number; last: number; deltas: number }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let first = 0;
  let last = 0;
  let deltas = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (event.includes('"text-delta"') || (event.startsWith('data: {"id"') && event.includes('"content"'))) {
        const now = performance.now();
        if (deltas === 0) first = now;
        last = now;
        deltas += 1;
      }
      end = buffer.indexOf('\n\n');
    }
  }
  return { first, last, deltas };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { chunks: { type: 'string', default: '10000' }, questions: { type: 'string', default: '40' }, tokens: { type: 'string', default: '300' } },
  });
  const chunkCount = Number(values.chunks);
  const questions = Number(values.questions);
  const tokenCount = Number(values.tokens);
  let streaming = false;
  const fake = await startFakeOpenAIChat(() =>
    streaming ? { tokens: Array.from({ length: tokenCount }, (_, i) => ` t${i}`) } : { tokens: [' The', ' answer', ' is', ' here', ' [1].'] },
  );
  const stack = await createStack({
    ephemeral: true,
    apiPort: 0,
    dbPort: 0,
    seed: false,
    scheduler: false,
    functions: { env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'bench-model', LLM_API_KEY: 'bench' } },
  });
  try {
    await stack.db.query("update public.plans set daily_request_limit = 100000 where id = 'free'");
    const user = await signUpUser(stack, 'bench-chat');
    const logger = { log() {}, child() { return logger; } };
    const embedder = await createEmbedder({ provider: 'hash' }, { logger });
    const { rows: [doc] } = await stack.db.query<{ id: string }>(
      `insert into public.documents (owner_id, storage_path, name, status, embedder, embedding_dimensions)
       values ($1::uuid, $1::text || '/corpus.txt', 'corpus.txt', 'ready', $2, 384) returning id`,
      [user.id, embedder.id],
    );
    const topics = ['warranty', 'shipping', 'returns', 'billing', 'accounts', 'security', 'privacy', 'support', 'pricing', 'storage'];
    process.stderr.write(`chat: embedding and loading ${chunkCount} chunks…\n`);
    for (let from = 0; from < chunkCount; from += 500) {
      const texts = Array.from({ length: Math.min(500, chunkCount - from) }, (_, k) => {
        const i = from + k;
        return `Section ${i} about ${topics[i % topics.length]}: the ${topics[(i * 3) % topics.length]} policy number ${i} explains rule ${i % 97}.`;
      });
      const vectors = await embedder.embed(texts);
      await stack.db.query(
        `insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding)
         select $1::uuid, $2::uuid, $3::int + i - 1, t, 20, v::extensions.vector
           from unnest($4::text[], $5::text[]) with ordinality as x (t, v, i)`,
        [doc.id, user.id, from, texts, vectors.map((v) => JSON.stringify(v))],
      );
    }
    // As the worker keeps it: search picks its plan by how many chunks the caller's documents have.
    await stack.db.query('update public.documents d set chunk_count = (select count(*) from public.document_chunks c where c.document_id = d.id)');
    await stack.db.query('analyze public.document_chunks');

    const ask = (chatId: string, text: string) =>
      fetch(`${stack.apiUrl}/functions/v1/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: chatId, messages: [{ id: 'q', role: 'user', parts: [{ type: 'text', text }] }] }),
      });
    // Warm-up: boots the function's Deno process and loads the model client.
    await readStream(await ask(randomUUID(), 'warm up'));

    const phases = new Map<string, number[]>();
    const added: number[] = [];
    const client: number[] = [];
    const model: number[] = [];
    for (let i = 0; i < questions; i++) {
      const before = fake.requests.length;
      const sent = performance.now();
      const response = await ask(randomUUID(), `What does the ${topics[i % topics.length]} policy say about rule ${i}?`);
      for (const [, name, ms] of (response.headers.get('server-timing') ?? '').matchAll(/(\w+);dur=([\d.]+)/g)) {
        phases.set(name, [...(phases.get(name) ?? []), Number(ms)]);
      }
      const { first } = await readStream(response);
      const request = fake.requests[before];
      client.push(first - sent);
      model.push(request.timeToFirstTokenMs ?? 0);
      added.push(first - sent - (request.timeToFirstTokenMs ?? 0));
      if (i % 10 === 9) process.stderr.write(`chat: ${i + 1}/${questions} questions\n`);
    }
    for (const list of [added, client, model]) list.sort((a, b) => a - b);

    streaming = true;
    const direct: number[] = [];
    const through: number[] = [];
    for (let i = 0; i < 5; i++) {
      const sentDirect = await fetch(`${fake.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
        body: JSON.stringify({ model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'stream' }] }),
      });
      const d = await readStream(sentDirect);
      direct.push((d.last - d.first) / Math.max(1, d.deltas - 1));
      const t = await readStream(await ask(randomUUID(), 'stream please'));
      through.push((t.last - t.first) / Math.max(1, t.deltas - 1));
    }
    direct.sort((a, b) => a - b);
    through.sort((a, b) => a - b);

    const result = {
      benchmark: 'chat',
      chunks: chunkCount,
      questions,
      tokens: tokenCount,
      timeToFirstToken: {
        clientP50Ms: round(percentile(client, 50)),
        modelP50Ms: round(percentile(model, 50)),
        addedP50Ms: round(percentile(added, 50)),
        addedP95Ms: round(percentile(added, 95)),
      },
      perToken: { directMs: round(percentile(direct, 50)), throughFunctionMs: round(percentile(through, 50)) },
      phasesP50Ms: Object.fromEntries([...phases].map(([name, list]) => [name, round(percentile(list.sort((a, b) => a - b), 50))])),
    };
    console.log(`\n| ${chunkCount} chunks, hash embedder | p50 | p95 |`);
    console.log('|---|---|---|');
    console.log(`| time to first token at the client | ${result.timeToFirstToken.clientP50Ms} ms | ${round(percentile(client, 95))} ms |`);
    console.log(`| the fake model's own time to first token | ${result.timeToFirstToken.modelP50Ms} ms | ${round(percentile(model, 95))} ms |`);
    console.log(`| **added by the chat function** | **${result.timeToFirstToken.addedP50Ms} ms** | ${result.timeToFirstToken.addedP95Ms} ms |`);
    console.log(`| where the function's time goes (Server-Timing, p50) | ${Object.entries(result.phasesP50Ms).map(([n, ms]) => `${n} ${ms}`).join(', ')} | |`);
    console.log(`| time per token, straight from the fake (${tokenCount} tokens) | ${result.perToken.directMs} ms | |`);
    console.log(`| time per token, through gateway and function | ${result.perToken.throughFunctionMs} ms | |`);
    const file = new URL(`./results/chat-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwritten to ${file.pathname}`);
  } finally {
    await stack.stop();
    await fake.close();
  }
}
