import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Deterministic filler prose: `count` distinct sentences. */
export function sentences(count: number, topic = 'system'): string {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(`Sentence ${i} about the ${topic} mentions ${words[i % words.length]} and ${words[(i * 7 + 3) % words.length]} twice.`);
  }
  return out.join(' ');
}

/**
 * A PDF with one page per entry: its lines of text (Helvetica 12 pt, 14 pt apart, one blank line = a paragraph
 * gap), or `null` for a page without text.
 */
export async function textPdf(pages: Array<string[] | null>): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([612, 792]);
    let y = 750;
    for (const line of lines ?? []) {
      if (line !== '') page.drawText(line, { x: 50, y, size: 12, font });
      y -= line === '' ? 28 : 14;
      if (y < 40) throw new Error('fixture page overflow');
    }
  }
  return pdf.save({ useObjectStreams: false });
}

/** A PDF whose pages only hold a picture (a PNG) and a drawn rectangle: what a scan looks like to a text extractor. */
export async function imageOnlyPdf(pageCount = 2): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const image = await pdf.embedPng(tinyPng());
  for (let i = 0; i < pageCount; i++) {
    const page = pdf.addPage([612, 792]);
    page.drawImage(image, { x: 50, y: 300, width: 400, height: 400 });
    page.drawRectangle({ x: 40, y: 40, width: 100, height: 50 });
  }
  return pdf.save();
}

/** An 8×8 grey PNG, built by hand (signature, IHDR, IDAT, IEND). */
function tinyPng(): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(8, 0);
  header.writeUInt32BE(8, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc(8 * 9, 0x80);
  for (let row = 0; row < 8; row++) rows[row * 9] = 0; // filter byte
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

// The padding string of the PDF standard security handler (ISO 32000-1, 7.6.3.3).
const PASSWORD_PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex');

function md5(...parts: Uint8Array[]): Buffer {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  const s = Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i] + key[i % key.length]) & 0xff;
    [s[i], s[j]] = [s[j], s[i]];
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]) & 0xff;
    [s[i], s[j]] = [s[j], s[i]];
    out[n] = data[n] ^ s[(s[i] + s[j]) & 0xff];
  }
  return out;
}

function padded(password: string): Buffer {
  return Buffer.concat([Buffer.from(password, 'latin1'), PASSWORD_PAD]).subarray(0, 32);
}

/**
 * A real password-protected PDF (pdf-lib cannot encrypt): the standard security handler, revision 2 (40-bit RC4),
 * with user password `userPassword`, built by hand. Its one page says `text` once decrypted.
 */
export function encryptedPdf(userPassword = 'secret', text = 'Top secret'): Uint8Array {
  const permissions = -4;
  const id = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
  const owner = rc4(md5(padded('owner-password')).subarray(0, 5), padded(userPassword)); // algorithm 3
  const p = Buffer.alloc(4);
  p.writeInt32LE(permissions);
  const key = md5(padded(userPassword), owner, p, id).subarray(0, 5); // algorithm 2
  const user = rc4(key, PASSWORD_PAD); // algorithm 4
  const objectKey = (num: number) => md5(key, Buffer.from([num & 0xff, (num >> 8) & 0xff, 0, 0, 0])).subarray(0, 10);
  const stream = rc4(objectKey(4), Buffer.from(`BT /F1 24 Tf 72 720 Td (${text}) Tj ET`, 'latin1'));
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  const objects: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>', 'latin1'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>', 'latin1'),
    Buffer.from('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>', 'latin1'),
    Buffer.concat([Buffer.from(`<< /Length ${stream.length} >>\nstream\n`, 'latin1'), stream, Buffer.from('\nendstream', 'latin1')]),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>', 'latin1'),
    Buffer.from(`<< /Filter /Standard /V 1 /R 2 /O <${hex(owner)}> /U <${hex(user)}> /P ${permissions} >>`, 'latin1'),
  ];
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    const object = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), body, Buffer.from('\nendobj\n', 'latin1')]);
    parts.push(object);
    length += object.length;
  });
  let tail = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) tail += `${String(offset).padStart(10, '0')} 00000 n \n`;
  tail += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Encrypt 6 0 R /ID [<${hex(id)}> <${hex(id)}>] >>\nstartxref\n${length}\n%%EOF\n`;
  parts.push(Buffer.from(tail, 'latin1'));
  return new Uint8Array(Buffer.concat(parts));
}

/** A DOCX made with the `docx` package: Word heading styles, paragraphs, a bulleted list and a table. */
export async function wordDocument(): Promise<Uint8Array> {
  const document = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: 'Guide', heading: HeadingLevel.HEADING_1 }),
          new Paragraph('This guide explains the product.'),
          new Paragraph({ text: 'Install', heading: HeadingLevel.HEADING_2 }),
          new Paragraph({ text: 'Linux', heading: HeadingLevel.HEADING_3 }),
          new Paragraph('Run the installer & follow <the> prompts.'),
          new Paragraph({ text: 'Download the package', bullet: { level: 0 } }),
          new Paragraph({ text: 'Verify its checksum', bullet: { level: 0 } }),
          new Paragraph({ text: 'Usage', heading: HeadingLevel.HEADING_2 }),
          new Table({
            rows: [
              new TableRow({ children: [new TableCell({ children: [new Paragraph('Command')] }), new TableCell({ children: [new Paragraph('Effect')] })] }),
              new TableRow({ children: [new TableCell({ children: [new Paragraph('start')] }), new TableCell({ children: [new Paragraph('Starts the service')] })] }),
            ],
          }),
        ],
      },
    ],
  });
  return new Uint8Array(await Packer.toBuffer(document));
}

/** A DOCX with only an empty paragraph. */
export async function emptyWordDocument(): Promise<Uint8Array> {
  return new Uint8Array(await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph('')] }] })));
}

/**
 * The start of an OLE compound file as Office writes a password-protected .docx: the compound file signature, and
 * the directory entry name of its `EncryptedPackage` stream (UTF-16LE). Only what the check looks at is real.
 */
export function encryptedOfficeFile(): Uint8Array {
  const bytes = new Uint8Array(1536);
  bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  bytes.set(Buffer.from('EncryptedPackage', 'utf16le'), 1024);
  return bytes;
}

/** The start of an OLE compound file without an encrypted package: an old binary .doc. */
export function legacyWordFile(): Uint8Array {
  const bytes = new Uint8Array(1536);
  bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  bytes.set(Buffer.from('WordDocument', 'utf16le'), 1024);
  return bytes;
}

/**
 * A ZIP archive (stored, not compressed) whose central directory declares `declaredSize` bytes for
 * `word/document.xml`, while the data is tiny: what a zip bomb's directory looks like.
 */
export function zipDeclaring(declaredSize: number): Uint8Array {
  const name = Buffer.from('word/document.xml');
  const data = Buffer.from('<w:document/>');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc32(data), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc32(data), 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declaredSize, 24);
  central.writeUInt16LE(name.length, 28);
  const directoryOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(directoryOffset, 16);
  return new Uint8Array(Buffer.concat([local, name, data, central, name, end]));
}
