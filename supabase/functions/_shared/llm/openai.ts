import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV4, LanguageModelV4StreamPart, LanguageModelV4Usage } from '@ai-sdk/provider';
import type { OpenAILlmConfig } from './config.ts';

/** What the `openai` provider takes besides its config. */
export interface OpenAIChatDeps {
  /** fetch for every request (tests, tracing, proxies); default global fetch. */
  fetch?: typeof fetch;
}

/** The two chat models of the `openai` provider. */
export interface OpenAIChatModels {
  /** `config.model`, for answers. */
  model: LanguageModelV4;
  /** `config.condenseModel`, for rewriting follow-up questions. */
  condenseModel: LanguageModelV4;
}

const UNKNOWN_USAGE: LanguageModelV4Usage = {
  inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: undefined, text: undefined, reasoning: undefined },
};

/**
 * `model` with failures while reading its stream (the connection reset or closed mid-answer) turned into an
 * `error` part followed by `finish` with reason `error`. `streamText` passes `error` parts to `onError` and on
 * into the UI message stream, but rethrows a failed read, which would cut the chat's response short with
 * nothing reported. Aborts still error the stream, so `streamText` reports them as aborts.
 */
function reportingStreamFailures(model: LanguageModelV4): LanguageModelV4 {
  return {
    specificationVersion: 'v4',
    provider: model.provider,
    modelId: model.modelId,
    get supportedUrls() {
      return model.supportedUrls;
    },
    doGenerate: (options) => model.doGenerate(options),
    async doStream(options) {
      const result = await model.doStream(options);
      const reader = result.stream.getReader();
      const open = new Map<string, 'text-end' | 'reasoning-end'>();
      const stream = new ReadableStream<LanguageModelV4StreamPart>(
        {
          async pull(controller) {
            try {
              const { done, value } = await reader.read();
              if (done) return controller.close();
              if (value.type === 'text-start') open.set(value.id, 'text-end');
              else if (value.type === 'reasoning-start') open.set(value.id, 'reasoning-end');
              else if (value.type === 'text-end' || value.type === 'reasoning-end') open.delete(value.id);
              controller.enqueue(value);
            } catch (error) {
              if (options.abortSignal?.aborted) return controller.error(error);
              for (const [id, type] of open) controller.enqueue({ type, id });
              controller.enqueue({ type: 'error', error });
              controller.enqueue({ type: 'finish', usage: UNKNOWN_USAGE, finishReason: { unified: 'error', raw: undefined } });
              controller.close();
            }
          },
          cancel: (reason) => reader.cancel(reason),
        },
        { highWaterMark: 0 },
      );
      return { ...result, stream };
    },
  };
}

/**
 * Chat models of any OpenAI-compatible API (`POST ${baseUrl}/chat/completions`), through
 * `@ai-sdk/openai-compatible`: the bearer key when one is configured, `stream_options.include_usage` when
 * streaming so token usage comes back, `fetch` injected. HTTP errors (429, 5xx) reach `streamText` as the SDK
 * reports them (retried up to its `maxRetries`, then an `error` part); a connection lost mid-answer becomes an
 * `error` part too (see `reportingStreamFailures`). The provider is named `llm`, so `provider` is `llm.chat` and
 * provider-specific options go under `providerOptions.llm` (or `openaiCompatible`).
 */
export function createOpenAIChatModels(config: OpenAILlmConfig, deps: OpenAIChatDeps = {}): OpenAIChatModels {
  const provider = createOpenAICompatible({
    name: 'llm',
    baseURL: config.baseUrl,
    apiKey: config.apiKey,
    fetch: deps.fetch,
    includeUsage: true,
  });
  return {
    model: reportingStreamFailures(provider.chatModel(config.model)),
    condenseModel: reportingStreamFailures(provider.chatModel(config.condenseModel)),
  };
}
