import { describe, expect, it } from 'vitest';
import { INGEST_ERROR_MESSAGES, IngestError } from '../../../../supabase/functions/_shared/ingest/errors.ts';
import { parseDocument } from '../../../../supabase/functions/_shared/ingest/parse.ts';
import { textPdf, utf8, wordDocument } from './fixtures.ts';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

describe('parseDocument errors', () => {
  it('refuses a MIME type outside the accepted list as unsupported_file_type', async () => {
    for (const type of ['image/png', 'application/octet-stream', 'application/msword', '']) {
      const error = await failure(parseDocument(utf8('hello'), type));
      expect(error.code).toBe('unsupported_file_type');
      expect(error.message).toBe(INGEST_ERROR_MESSAGES.unsupported_file_type);
    }
  });

  it('accepts a MIME type in any case and with parameters', async () => {
    const document = await parseDocument(utf8('hello'), 'Text/Plain; charset=utf-8');
    expect(document.format).toBe('text');
  });

  it('refuses content that is not what its type says as file_content_mismatch', async () => {
    const pdf = await textPdf([['Hello']]);
    const docx = await wordDocument();
    const cases: Array<[Uint8Array, string]> = [
      [utf8('just some text'), 'application/pdf'],
      [utf8('just some text'), DOCX],
      [pdf, 'text/plain'],
      [docx, 'text/markdown'],
      [pdf, DOCX],
      [Uint8Array.of(0x68, 0x69, 0x00, 0x21), 'text/csv'], // a NUL byte
      [Uint8Array.of(0x63, 0x61, 0x66, 0xe9), 'application/json'], // Latin-1, not UTF-8
    ];
    for (const [bytes, type] of cases) {
      const error = await failure(parseDocument(bytes, type));
      expect([type, error.code]).toEqual([type, 'file_content_mismatch']);
    }
  });

  it('answers no_text for an empty or whitespace-only file', async () => {
    for (const [bytes, type] of [
      [new Uint8Array(0), 'application/pdf'],
      [new Uint8Array(0), 'text/plain'],
      [utf8(' \n\t\n'), 'text/markdown'],
      [utf8('\ufeff   '), 'text/plain'],
    ] as const) {
      const error = await failure(parseDocument(bytes, type));
      expect(error.code).toBe('no_text');
      expect(error.message).toMatch(/^This file is empty/);
    }
  });

  it('refuses more extracted text than maxChars as too_much_text, for every text format', async () => {
    const long = 'word '.repeat(400);
    const cases: Array<[string, string]> = [
      [long, 'text/plain'],
      [`# Title\n\n${long}`, 'text/markdown'],
      [`a,b\n${'1,2\n'.repeat(600)}`, 'text/csv'],
      [`<p>${long}</p>`, 'text/html'],
      [JSON.stringify(long.split(' ')), 'application/json'],
    ];
    for (const [text, type] of cases) {
      const error = await failure(parseDocument(utf8(text), type, { limits: { maxChars: 1000 } }));
      expect([type, error.code]).toEqual([type, 'too_much_text']);
      expect(error.message).toContain('1,000 characters');
    }
  });

  it('refuses a plain text file too large to fit maxChars before decoding it', async () => {
    const bytes = new Uint8Array(3001).fill(0xff); // not even UTF-8: the size alone decides
    const error = await failure(parseDocument(bytes, 'text/plain', { limits: { maxChars: 1000 } }));
    expect(error.code).toBe('too_much_text');
  });
});

describe('error messages', () => {
  it('are sentences a person can act on, for every code', () => {
    for (const [code, message] of Object.entries(INGEST_ERROR_MESSAGES)) {
      expect(message, code).toMatch(/^[A-Z][^_]*\.$/);
      expect(message.split('. ').length, code).toBeGreaterThanOrEqual(2);
    }
  });
});
