import { describe, expect, it } from 'vitest';
import { MAX_FILE_NAME_BYTES, sanitizeFileName } from '../../../supabase/functions/_shared/file-name.ts';
import { checkSignature, resolveDocumentType, Utf8Checker } from '../../../supabase/functions/_shared/file-type.ts';
import { docxLike, tinyPdf } from './helpers.ts';

// Storage's key rule (supabase/storage `isValidKey`), minus `?` which storage-js would put into the URL unescaped.
const STORAGE_SAFE = /^[A-Za-z0-9 _\-.!*'()&$@=;+,]+$/;

describe('sanitizeFileName', () => {
  it('keeps an ordinary name as it is', () => {
    expect(sanitizeFileName('Quarterly report (final).pdf')).toBe('Quarterly report (final).pdf');
  });

  it('keeps only the last segment of a path with / or \\ separators', () => {
    expect(sanitizeFileName('../../etc/passwd.txt')).toBe('passwd.txt');
    expect(sanitizeFileName('C:\\Users\\ada\\notes.md')).toBe('notes.md');
    expect(sanitizeFileName('a/b\\c/..\\d.csv')).toBe('d.csv');
  });

  it('returns undefined for names that end up empty: dots, separators, controls, blanks', () => {
    for (const name of ['', '.', '..', '...', '/', 'a/..', '..\\', '\u0000\u0001', '   ', ' . ', '\u202e\u200b']) {
      expect(sanitizeFileName(name), JSON.stringify(name)).toBeUndefined();
    }
  });

  it('removes control and format characters (NUL, newlines, bidi overrides, zero-width)', () => {
    expect(sanitizeFileName('in\u0000voice\n.txt')).toBe('invoice.txt');
    expect(sanitizeFileName('photo\u202egnp.txt')).toBe('photognp.txt');
    expect(sanitizeFileName('zero\u200bwidth.md')).toBe('zerowidth.md');
  });

  it('collapses runs of dots so no ".." survives, and trims dots and spaces at the ends', () => {
    expect(sanitizeFileName('a..b...c.txt')).toBe('a.b.c.txt');
    expect(sanitizeFileName('  .hidden.txt. ')).toBe('hidden.txt');
  });

  it('normalises Unicode first, so composed and decomposed spellings give the same name', () => {
    const composed = 'caf\u00e9.txt';
    const decomposed = 'cafe\u0301.txt';
    expect(sanitizeFileName(composed)).toBe(sanitizeFileName(decomposed));
    expect(sanitizeFileName(composed)).toBe('cafe.txt');
  });

  it('folds letters to ASCII and replaces what Storage would refuse', () => {
    expect(sanitizeFileName('Übersicht Straße.md')).toBe('Ubersicht Stra_e.md');
    expect(sanitizeFileName('what?#%.txt')).toBe('what_.txt');
    expect(sanitizeFileName('a:b|c<d>.csv')).toBe('a_b_c_d_.csv');
  });

  it('names a file whose stem has no letter left after its hash, keeping distinct names distinct', () => {
    const first = sanitizeFileName('報告書.pdf');
    const second = sanitizeFileName('議事録.pdf');
    expect(first).toMatch(/^file-[0-9a-f]{8}\.pdf$/);
    expect(second).toMatch(/^file-[0-9a-f]{8}\.pdf$/);
    expect(first).not.toBe(second);
    expect(sanitizeFileName('報告書.pdf')).toBe(first);
  });

  it('shortens an over-long name in the stem and keeps the extension', () => {
    const name = sanitizeFileName(`${'x'.repeat(300)}.docx`)!;
    expect(name.length).toBe(MAX_FILE_NAME_BYTES);
    expect(name.endsWith('.docx')).toBe(true);
    expect(new TextEncoder().encode(name).length).toBe(MAX_FILE_NAME_BYTES);
  });

  it('treats a very long "extension" as part of the stem', () => {
    const name = sanitizeFileName(`a.${'y'.repeat(300)}`)!;
    expect(name.length).toBe(MAX_FILE_NAME_BYTES);
    expect(name.startsWith('a.yyy')).toBe(true);
  });

  it('always returns names Storage accepts as a key segment', () => {
    const samples = ['ÄÖÜ äöü.txt', '😀 smile.md', 'tab\there.csv', 'q?uery#frag.json', "it's (1) & $5 @ =;+,.html", '名前.docx'];
    for (const sample of samples) {
      const name = sanitizeFileName(sample)!;
      expect(name, sample).toMatch(STORAGE_SAFE);
      expect(name.includes('..'), sample).toBe(false);
    }
  });
});

describe('resolveDocumentType', () => {
  it('goes by the extension, case-insensitively, whatever the declared type', () => {
    expect(resolveDocumentType('a.PDF', 'application/octet-stream')?.mimeType).toBe('application/pdf');
    expect(resolveDocumentType('notes.md', '')?.mimeType).toBe('text/markdown');
    expect(resolveDocumentType('data.csv', 'application/vnd.ms-excel')?.mimeType).toBe('text/csv');
    expect(resolveDocumentType('page.htm')?.mimeType).toBe('text/html');
    expect(resolveDocumentType('w.docx')?.kind).toBe('docx');
  });

  it('refuses extensions outside the allow-list even when the declared type is allowed', () => {
    expect(resolveDocumentType('tool.exe', 'text/plain')).toBeUndefined();
    expect(resolveDocumentType('image.png', 'image/png')).toBeUndefined();
  });

  it('uses the declared type (without parameters) when the name has no extension', () => {
    expect(resolveDocumentType('README', 'text/plain; charset=utf-8')?.mimeType).toBe('text/plain');
    expect(resolveDocumentType('README', 'application/octet-stream')).toBeUndefined();
  });
});

describe('checkSignature and Utf8Checker', () => {
  it('accepts a real PDF and a ZIP-based DOCX by their first bytes', () => {
    expect(checkSignature(tinyPdf().subarray(0, 8), 'pdf')).toBe(true);
    expect(checkSignature(docxLike().subarray(0, 8), 'docx')).toBe(true);
  });

  it('refuses text posing as PDF or DOCX, and binaries posing as text', () => {
    const text = new TextEncoder().encode('just text');
    expect(checkSignature(text, 'pdf')).toBe(false);
    expect(checkSignature(text, 'docx')).toBe(false);
    expect(checkSignature(tinyPdf().subarray(0, 8), 'text')).toBe(false);
    expect(checkSignature(docxLike().subarray(0, 8), 'text')).toBe(false);
  });

  it('accepts UTF-8 split anywhere between chunks, and refuses a character cut off at the end', () => {
    const bytes = new TextEncoder().encode('größe – ✓ 😀');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const checker = new Utf8Checker();
      expect(checker.push(bytes.subarray(0, cut)) && checker.push(bytes.subarray(cut)) && checker.end()).toBe(true);
    }
    const truncated = new Utf8Checker();
    expect(truncated.push(bytes.subarray(0, bytes.length - 1))).toBe(true);
    expect(truncated.end()).toBe(false);
  });

  it('refuses invalid UTF-8 and NUL bytes', () => {
    expect(new Utf8Checker().push(Uint8Array.of(0x61, 0xff))).toBe(false);
    expect(new Utf8Checker().push(Uint8Array.of(0x61, 0x00, 0x62))).toBe(false);
    expect(new Utf8Checker().push(Uint8Array.of(0xc0, 0xaf))).toBe(false); // overlong "/"
  });

  it.each([
    ['an overlong 3-byte form', [0xe0, 0x80, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['an overlong 4-byte form', [0xf0, 0x80, 0x80, 0xaf]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a lone continuation byte', [0x80]],
    ['a 5-byte lead', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ])('refuses %s', (_case, bytes) => {
    const checker = new Utf8Checker();
    expect(checker.push(Uint8Array.from(bytes)) && checker.end()).toBe(false);
  });

  it('agrees with a fatal TextDecoder on every 1–3 byte sequence around the boundaries, however it is split', () => {
    const interesting = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];
    const reference = (bytes: Uint8Array) => {
      if (bytes.includes(0)) return false;
      try {
        new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    let compared = 0;
    for (const a of interesting) {
      for (const b of [undefined, ...interesting]) {
        for (const c of b === undefined ? [undefined] : [undefined, ...interesting]) {
          const bytes = Uint8Array.from([a, b, c].filter((x): x is number => x !== undefined));
          for (let cut = 0; cut <= bytes.length; cut++) {
            const checker = new Utf8Checker();
            const ours = checker.push(bytes.subarray(0, cut)) && checker.push(bytes.subarray(cut)) && checker.end();
            expect([Array.from(bytes), cut, ours]).toEqual([Array.from(bytes), cut, reference(bytes)]);
            compared += 1;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(40_000);
  });
});
