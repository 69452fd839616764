import { APICallError, generateText, RetryError, streamText, type TextStreamPart, type ToolSet } from 'ai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEnv } from '../../../../supabase/functions/_shared/env.ts';
import { createLanguageModel, type Llm, llmConfig, LlmEnvSchema } from '../../../../supabase/functions/_shared/llm/index.ts';
import { createLogger } from '../../../../supabase/functions/_shared/log.ts';
import { errorScript, type FakeChatHandler, type FakeOpenAIChat, startFakeOpenAIChat } from './fake-openai-chat.ts';

const API_KEY = 'sk-test-0123456789';
let fake: FakeOpenAIChat | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Starts the fake and an `openai` model pointed at it, configured like an entry file would. */
async function setup(handler: FakeChatHandler, env: Record<string, string> = {}): Promise<{ server: FakeOpenAIChat; llm: Llm }> {
  fake = await startFakeOpenAIChat(handler);
  const config = llmConfig(
    parseEnv(LlmEnvSchema, {
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: API_KEY,
      LLM_MODEL: 'gpt-4o-mini',
      ...env,
    }),
  );
  const llm = await createLanguageModel(config, { logger: createLogger({}, () => {}) });
  return { server: fake, llm };
}

const QUESTION = [{ role: 'user' as const, content: 'What is the answer?' }];

/** Every part of a streamText result, in order. */
async function parts(result: { fullStream: AsyncIterable<TextStreamPart<ToolSet>> }): Promise<Array<TextStreamPart<ToolSet>>> {
  const collected: Array<TextStreamPart<ToolSet>> = [];
  for await (const part of result.fullStream) collected.push(part);
  return collected;
}

const textOf = (collected: Array<TextStreamPart<ToolSet>>) => collected.flatMap((part) => (part.type === 'text-delta' ? [part.text] : []));
const errorsOf = (collected: Array<TextStreamPart<ToolSet>>) => collected.flatMap((part) => (part.type === 'error' ? [part.error] : []));

describe('openai chat model', () => {
  it('streams the deltas in order and reports the usage the server sent', async () => {
    const { llm } = await setup({ tokens: ['The', ' answer', ' is', ' 42', '.'], usage: { prompt_tokens: 17, completion_tokens: 5 } });

    const result = streamText({ model: llm.model, ...llm.callSettings, system: 'Be brief.', messages: QUESTION });

    expect(textOf(await parts(result))).toEqual(['The', ' answer', ' is', ' 42', '.']);
    expect(await result.usage).toMatchObject({ inputTokens: 17, outputTokens: 5, totalTokens: 22 });
    expect(await result.finishReason).toBe('stop');
  });

  it('sends the model, the messages, stream with include_usage, the settings and the bearer key', async () => {
    const { server, llm } = await setup({}, { LLM_MAX_OUTPUT_TOKENS: '256', LLM_TEMPERATURE: '0.3' });

    await parts(streamText({ model: llm.model, ...llm.callSettings, system: 'Be brief.', messages: QUESTION }));

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body).toMatchObject({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 256,
      temperature: 0.3,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the answer?' },
      ],
    });
  });

  it('sends no key to a keyless server such as Ollama', async () => {
    const { server, llm } = await setup({}, { LLM_API_KEY: '', LLM_MODEL: 'llama3.2' });

    await parts(streamText({ model: llm.model, messages: QUESTION }));

    expect(server.requests[0].headers.authorization).toBeUndefined();
    expect(server.requests[0].body.model).toBe('llama3.2');
  });

  it('condenses with LLM_CONDENSE_MODEL through a non-streaming request', async () => {
    const { server, llm } = await setup({ tokens: ['What is', ' the warranty', ' period?'] }, { LLM_CONDENSE_MODEL: 'gpt-4o-nano' });

    const { text } = await generateText({ model: llm.condenseModel!, prompt: 'Rewrite: and how long is it?' });

    expect(text).toBe('What is the warranty period?');
    expect(server.requests[0].body.model).toBe('gpt-4o-nano');
    expect(server.requests[0].body.stream).toBeFalsy();
  });

  it('hands the first delta to the caller while the server is still holding the stream open', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server, llm } = await setup({ tokens: ['first', ' second', ' third'], gate });
    const result = streamText({ model: llm.model, messages: QUESTION });

    const deltas: string[] = [];
    for await (const part of result.fullStream) {
      if (part.type !== 'text-delta') continue;
      deltas.push(part.text);
      if (deltas.length === 1) {
        // The fake cannot finish before release(): had the SDK buffered the answer, this line would never run.
        expect(server.requests[0].completed).toBe(false);
        expect(server.requests[0].timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
        release();
      }
    }

    expect(deltas).toEqual(['first', ' second', ' third']);
    expect(server.requests[0].completed).toBe(true);
  });

  it('surfaces a 500 as an error part and onError, without hanging', async () => {
    const { server, llm } = await setup(errorScript(500));
    const onError = vi.fn();

    const collected = await parts(streamText({ model: llm.model, messages: QUESTION, maxRetries: 0, onError }));

    const [error] = errorsOf(collected);
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ statusCode: 500, message: 'The server had an error while processing your request.' });
    expect(onError).toHaveBeenCalledExactlyOnceWith({ error });
    expect(textOf(collected)).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('surfaces a 429 as a retryable error part and onError', async () => {
    const { llm } = await setup(errorScript(429, { message: 'Rate limit reached for gpt-4o-mini.' }));
    const onError = vi.fn();

    const collected = await parts(streamText({ model: llm.model, messages: QUESTION, maxRetries: 0, onError }));

    const [error] = errorsOf(collected);
    expect(error).toMatchObject({ statusCode: 429, isRetryable: true, message: 'Rate limit reached for gpt-4o-mini.' });
    expect(onError).toHaveBeenCalledOnce();
  });

  it('retries a 429 as many times as maxRetries allows, then reports the last one', async () => {
    // Retry-After: 0 only keeps the test fast; the attempts are what is checked.
    const { server, llm } = await setup(errorScript(429, { headers: { 'retry-after': '0' } }));

    const collected = await parts(streamText({ model: llm.model, messages: QUESTION, maxRetries: 2, onError: () => {} }));

    const [error] = errorsOf(collected);
    expect(server.requests).toHaveLength(3);
    expect(RetryError.isInstance(error)).toBe(true);
    expect((error as RetryError).lastError).toMatchObject({ statusCode: 429 });
  });

  it('reports a connection broken mid-stream as an error part and onError, after the deltas that arrived', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Broken only once the client has the first delta, which a reset could otherwise discard unread.
    const { server, llm } = await setup({ tokens: ['partial', ' answer', ' never', ' finished'], gate, breakAfter: 1 });
    const onError = vi.fn();
    const result = streamText({ model: llm.model, messages: QUESTION, onError });

    const collected: Array<TextStreamPart<ToolSet>> = [];
    for await (const part of result.fullStream) {
      collected.push(part);
      if (part.type === 'text-delta') release();
    }

    const [error] = errorsOf(collected);
    expect(textOf(collected)).toEqual(['partial']);
    expect(APICallError.isInstance(error)).toBe(true);
    expect(onError).toHaveBeenCalledExactlyOnceWith({ error });
    expect(await result.finishReason).toBe('error');
    expect(server.requests[0]).toMatchObject({ completed: false, aborted: false });
  });

  it('ends the UI message stream with an error chunk when the connection breaks mid-stream', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { llm } = await setup({ tokens: ['partial', ' answer'], gate, breakAfter: 1 });
    const result = streamText({ model: llm.model, messages: QUESTION, onChunk: () => release(), onError: () => {} });

    const body = await result.toUIMessageStreamResponse({ onError: () => 'The model connection was lost.' }).text();
    const chunks = body
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice('data: '.length)) as { type: string; delta?: string; errorText?: string });

    expect(chunks.filter((chunk) => chunk.type === 'text-delta').map((chunk) => chunk.delta)).toEqual(['partial']);
    expect(chunks).toContainEqual({ type: 'error', errorText: 'The model connection was lost.' });
  });

  it('closes the connection to the server when the caller aborts mid-stream', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server, llm } = await setup({ tokens: ['one', ' two', ' three'], gate });
    const controller = new AbortController();
    const onAbort = vi.fn();
    const onError = vi.fn();
    const result = streamText({ model: llm.model, messages: QUESTION, abortSignal: controller.signal, onAbort, onError });

    const deltas: string[] = [];
    try {
      for await (const part of result.fullStream) {
        if (part.type !== 'text-delta') continue;
        deltas.push(part.text);
        controller.abort();
      }
      await server.requests[0].closed;
    } finally {
      release();
    }

    expect(deltas).toEqual(['one']);
    expect(onAbort).toHaveBeenCalledOnce();
    expect(onError).not.toHaveBeenCalled();
    expect(server.requests[0]).toMatchObject({ aborted: true, completed: false });
  });

  it('gives up on a server that never answers after LLM_TIMEOUT_MS, closing the connection', async () => {
    const { server, llm } = await setup({ hang: true }, { LLM_TIMEOUT_MS: '300' });
    const onAbort = vi.fn();
    const onError = vi.fn();

    const collected = await parts(
      streamText({ model: llm.model, messages: QUESTION, timeout: llm.timeoutMs, maxRetries: 0, onAbort, onError }),
    );
    await server.requests[0].closed;

    expect(llm.timeoutMs).toBe(300);
    expect(collected.map((part) => part.type)).toContain('abort');
    expect(onAbort).toHaveBeenCalledOnce();
    expect(onError).not.toHaveBeenCalled();
    expect(server.requests[0]).toMatchObject({ aborted: true, completed: false });
  });

  it('uses an injected fetch for every request', async () => {
    fake = await startFakeOpenAIChat({ tokens: ['routed'] });
    const target = fake.baseUrl;
    const seen: string[] = [];
    const config = llmConfig(
      parseEnv(LlmEnvSchema, { LLM_PROVIDER: 'openai', LLM_BASE_URL: 'http://llm.invalid/v1', LLM_MODEL: 'gpt-4o-mini' }),
    );
    const llm = await createLanguageModel(config, {
      logger: createLogger({}, () => {}),
      fetch: (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        seen.push(url);
        return fetch(url.replace('http://llm.invalid/v1', target), init);
      },
    });

    expect(textOf(await parts(streamText({ model: llm.model, messages: QUESTION })))).toEqual(['routed']);
    expect(seen).toEqual(['http://llm.invalid/v1/chat/completions']);
  });
});
