import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../supabase/functions/_shared/ingest/errors.ts';
import { restoreProtoAccessor } from '../../../../supabase/functions/_shared/ingest/proto-shim.ts';
import { emptyWordDocument, encryptedOfficeFile, legacyWordFile, wordDocument, zipDeclaring } from './fixtures.ts';
import { ingest } from './ingest.ts';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

describe('DOCX parsing', () => {
  it('turns Word heading styles into the heading path and keeps lists and tables readable', async () => {
    const result = await ingest(await wordDocument(), DOCX);
    expect(result.text).toBe(
      'Guide\n\nThis guide explains the product.\n\nInstall\n\nLinux\n\nRun the installer & follow <the> prompts.\n\n' +
        '- Download the package\n- Verify its checksum\n\nUsage\n\nCommand | Effect\nstart | Starts the service',
    );
    expect(result.chunks.map((chunk) => [chunk.metadata.headings, chunk.content])).toEqual([
      [['Guide'], 'Guide\n\nThis guide explains the product.'],
      [['Guide', 'Install', 'Linux'], 'Linux\n\nRun the installer & follow <the> prompts.\n\n- Download the package\n- Verify its checksum'],
      [['Guide', 'Usage'], 'Usage\n\nCommand | Effect\nstart | Starts the service'],
    ]);
    for (const chunk of result.chunks) expect(result.text!.slice(chunk.metadata.start, chunk.metadata.end)).toBe(chunk.content);
    expect(result.chunks[1].embeddingText).toBe(`Guide > Install > Linux\n\n${result.chunks[1].content}`);
  });
});

describe('DOCX errors', () => {
  it('answers no_text for a document without text', async () => {
    expect((await failure(ingest(await emptyWordDocument(), DOCX))).code).toBe('no_text');
  });

  it('answers corrupt_file for a damaged DOCX', async () => {
    const valid = await wordDocument();
    const damaged = valid.slice();
    damaged.fill(0x5a, 200, 600); // inside the first compressed part
    for (const bytes of [valid.subarray(0, valid.length - 200), damaged]) {
      const error = await failure(ingest(bytes, DOCX));
      expect(error.code).toBe('corrupt_file');
      expect(error.message).toMatch(/^This Word document is damaged/);
    }
  });

  it('answers encrypted_file for a password-protected Word file (an OLE container with an EncryptedPackage)', async () => {
    const error = await failure(ingest(encryptedOfficeFile(), DOCX));
    expect(error.code).toBe('encrypted_file');
    expect(error.message).toMatch(/^This Word document is password-protected\./);
  });

  it('answers file_content_mismatch for an old binary .doc named .docx', async () => {
    const error = await failure(ingest(legacyWordFile(), DOCX));
    expect(error.code).toBe('file_content_mismatch');
    expect(error.message).toContain('(.doc)');
  });

  it('refuses a DOCX whose directory declares more XML than the limit, before inflating anything', async () => {
    // The data behind the directory is a few bytes: only the declared size can trigger this.
    const error = await failure(ingest(zipDeclaring(2 ** 31), DOCX));
    expect(error.code).toBe('too_much_text');
  });
});

describe('restoreProtoAccessor', () => {
  it('brings __proto__ back where the runtime turned it into a stub, as Deno does', () => {
    const original = Object.getOwnPropertyDescriptor(Object.prototype, '__proto__')!;
    Object.defineProperty(Object.prototype, '__proto__', { get: () => undefined, set: () => {}, configurable: true });
    try {
      expect(({} as { __proto__?: unknown }).__proto__).toBeUndefined();
      restoreProtoAccessor();
      const child = {} as { __proto__?: unknown; inherited?: number };
      expect(child.__proto__).toBe(Object.prototype);
      child.__proto__ = { inherited: 1 };
      expect(child.inherited).toBe(1);
    } finally {
      Object.defineProperty(Object.prototype, '__proto__', original);
    }
  });

  it('leaves a working __proto__ untouched', () => {
    const before = Object.getOwnPropertyDescriptor(Object.prototype, '__proto__');
    restoreProtoAccessor();
    expect(Object.getOwnPropertyDescriptor(Object.prototype, '__proto__')).toEqual(before);
  });
});
