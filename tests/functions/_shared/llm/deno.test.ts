/**
 * The chat models under real Deno 2, the way an edge function uses them: `npm:` imports through an import map
 * resolved from node_modules (`--node-modules-dir=manual`, as the runner and `npm run check` do), configuration
 * from the environment, `streamText` consuming the stream, and only the permissions granted here.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { denoBinary, denoDir, NODE_MODULES_FLAG, REPO_ROOT } from '../../../../stack/functions/deno.ts';
import { extractiveAnswer } from '../../../../supabase/functions/_shared/llm/extractive.ts';
import type { PromptSource } from '../../../../supabase/functions/_shared/llm/index.ts';
import { type FakeOpenAIChat, startFakeOpenAIChat } from './fake-openai-chat.ts';

const run = promisify(execFile);
const LLM = join(REPO_ROOT, 'supabase', 'functions', '_shared', 'llm');
/** The bare specifiers the llm modules import, mapped like a function's deno.json maps them. */
const PACKAGES = ['@ai-sdk/openai-compatible', '@ai-sdk/provider', 'ai', 'gpt-tokenizer', 'zod'];

const SOURCES: PromptSource[] = [
  { id: 1, document: 'manual.pdf', page: 4, text: 'Its battery lasts about 60 minutes on a full charge. Charging takes three hours.' },
  { id: 2, document: 'warranty.md', text: 'The warranty lasts two years from the date of purchase.\n- Batteries are covered for one year.' },
];
const QUESTION = 'How long does the battery last?';

interface DenoResult {
  id: string;
  deltas: string[];
  text: string;
  usage: { inputTokens?: number; outputTokens?: number };
  deno: string;
}

let root: string;
let configPath: string;
let scriptPath: string;
let fake: FakeOpenAIChat | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgebrain-llm-deno-'));
  const { dependencies } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const imports: Record<string, string> = {};
  for (const name of PACKAGES) imports[name] = `npm:${name}@${dependencies[name]}`;
  imports['gpt-tokenizer/'] = `npm:/gpt-tokenizer@${dependencies['gpt-tokenizer']}/`;
  configPath = join(root, 'deno.json');
  await writeFile(configPath, JSON.stringify({ imports }, null, 2));
  // The script below imports 'ai' itself; Deno looks for node_modules upwards from the importing file.
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  // An entry file in miniature: environment → config → model, then one streamed answer to the sources given.
  scriptPath = join(root, 'main.ts');
  const shared = (file: string) => pathToFileURL(join(LLM, file)).href;
  await writeFile(
    scriptPath,
    `import { streamText } from 'ai';
import { createLanguageModel, formatSources, llmConfig, LlmEnvSchema } from '${shared('index.ts')}';
import { parseEnv, readEnv } from '${shared('../env.ts')}';
import { createLogger } from '${shared('../log.ts')}';

const { sources, question } = JSON.parse(Deno.args[0]);
const llm = await createLanguageModel(llmConfig(parseEnv(LlmEnvSchema, readEnv())), { logger: createLogger({}, () => {}) });
const result = streamText({ model: llm.model, system: formatSources(sources), prompt: question, timeout: llm.timeoutMs });
const deltas: string[] = [];
for await (const delta of result.textStream) deltas.push(delta);
const usage = await result.usage;
console.log(JSON.stringify({ id: llm.id, deltas, text: await result.text, usage, deno: Deno.version.deno }));
`,
  );
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function denoEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, DENO_DIR: denoDir(), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...extra };
}

async function answerUnderDeno(permissions: string[], env: Record<string, string>): Promise<DenoResult> {
  const { stdout } = await run(
    denoBinary(),
    [
      'run',
      '--no-prompt',
      '--no-lock',
      NODE_MODULES_FLAG,
      `--config=${configPath}`,
      // readEnv() reads the whole environment, as every entry file does.
      '--allow-env',
      // Importing 'ai' itself (for streamText; the llm modules do not) loads @vercel/oidc through
      // @ai-sdk/gateway, which calls os.hostname() as it loads.
      '--allow-sys=hostname',
      ...permissions,
      scriptPath,
      JSON.stringify({ sources: SOURCES, question: QUESTION }),
    ],
    { cwd: root, env: denoEnv(env) },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as DenoResult;
}

describe('chat models under Deno', () => {
  it('streams the extractive answer through streamText word by word, exactly as under Node', async () => {
    const result = await answerUnderDeno([], {});

    expect(result.deno).toMatch(/^2\./);
    expect(result.id).toBe('edgebrain:extractive-dev');
    expect(result.text).toBe(extractiveAnswer(SOURCES, QUESTION));
    expect(result.text).toContain('"Its battery lasts about 60 minutes on a full charge." [1]');
    expect(result.deltas.join('')).toBe(result.text);
    expect(result.deltas).toHaveLength(result.text.split(/\s+/).length);
    expect(result.usage.outputTokens).toBe(countTokens(result.text));
  });

  it('streams from an OpenAI-compatible server with network access to it only', async () => {
    fake = await startFakeOpenAIChat({ tokens: ['Sixty', ' minutes', ' [1].'], usage: { prompt_tokens: 30, completion_tokens: 3 } });
    const host = new URL(fake.baseUrl).host;

    const result = await answerUnderDeno([`--allow-net=${host}`], {
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: fake.baseUrl,
      LLM_MODEL: 'llama3.2',
      LLM_TIMEOUT_MS: '30000',
    });

    expect(result).toMatchObject({ id: 'openai:llama3.2', deltas: ['Sixty', ' minutes', ' [1].'], usage: { inputTokens: 30, outputTokens: 3 } });
    expect(fake.requests[0].body).toMatchObject({ model: 'llama3.2', stream: true, stream_options: { include_usage: true } });
    expect(fake.requests[0].body.messages[0]).toMatchObject({ role: 'system', content: expect.stringContaining('<source id="1" document="manual.pdf" page="4">') });
  });

  it('type-checks every llm module with deno check', async () => {
    const modules = ['index.ts', 'config.ts', 'sources.ts', 'passages.ts', 'extractive.ts', 'openai.ts'];
    const check = run(
      denoBinary(),
      ['check', '--quiet', '--no-lock', NODE_MODULES_FLAG, `--config=${configPath}`, ...modules.map((file) => join(LLM, file))],
      { cwd: root, env: denoEnv() },
    );
    await expect(check).resolves.toMatchObject({ stderr: '' });
  });
});
