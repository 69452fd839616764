import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../../../supabase/functions/_shared/env.ts';
import { createLanguageModel, llmConfig, LlmEnvSchema } from '../../../../supabase/functions/_shared/llm/index.ts';
import { createLogger, type LogLevel } from '../../../../supabase/functions/_shared/log.ts';

/** createLanguageModel as an entry file calls it, with the log lines it writes. */
async function create(env: Record<string, string>) {
  const lines: Array<{ level: LogLevel; entry: Record<string, unknown> }> = [];
  const logger = createLogger({}, (level, line) => lines.push({ level, entry: JSON.parse(line) }));
  const llm = await createLanguageModel(llmConfig(parseEnv(LlmEnvSchema, env)), { logger });
  return { llm, lines };
}

describe('createLanguageModel', () => {
  it('uses the extractive model by default and warns once that it is a dev-only stand-in', async () => {
    const { llm, lines } = await create({});

    expect(llm.id).toBe('edgebrain:extractive-dev');
    expect(llm.model).toMatchObject({ specificationVersion: 'v4', provider: 'edgebrain', modelId: 'extractive-dev' });
    expect(llm.condenseModel).toBeUndefined();
    expect(llm.callSettings).toEqual({});
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe('warn');
    expect(lines[0].entry).toMatchObject({ llm: 'edgebrain:extractive-dev' });
    expect(lines[0].entry.msg).toContain('dev-only stand-in');
    expect(lines[0].entry.msg).toContain('set LLM_PROVIDER=openai');
  });

  it('uses the openai models with only the settings that are set, logging one line without the key', async () => {
    const { llm, lines } = await create({
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: 'https://user:hunter2@gateway.example/v1',
      LLM_API_KEY: 'sk-never-logged',
      LLM_MODEL: 'gpt-4o-mini',
      LLM_CONDENSE_MODEL: 'gpt-4o-nano',
      LLM_TEMPERATURE: '0',
      LLM_TIMEOUT_MS: '45000',
    });

    expect(llm.id).toBe('openai:gpt-4o-mini');
    expect(llm.model).toMatchObject({ specificationVersion: 'v4', provider: 'llm.chat', modelId: 'gpt-4o-mini' });
    expect(llm.condenseModel).toMatchObject({ provider: 'llm.chat', modelId: 'gpt-4o-nano' });
    expect(llm.callSettings).toStrictEqual({ temperature: 0 });
    expect(llm.timeoutMs).toBe(45000);
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe('info');
    expect(lines[0].entry).toMatchObject({
      msg: 'llm: using openai:gpt-4o-mini at https://gateway.example/v1',
      llm: 'openai:gpt-4o-mini',
      condense_model: 'gpt-4o-nano',
    });
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain('sk-never-logged');
    expect(logged).not.toContain('hunter2');
  });

  it('condenses with the answer model when LLM_CONDENSE_MODEL is unset', async () => {
    const { llm } = await create({ LLM_PROVIDER: 'openai', LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_MODEL: 'llama3.2' });

    expect(llm.condenseModel?.modelId).toBe('llama3.2');
    expect(llm.callSettings).toStrictEqual({});
    expect(llm.timeoutMs).toBeUndefined();
  });
});
