const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;

/** One entry of a ZIP archive's central directory. */
export interface ZipEntry {
  name: string;
  /** Declared uncompressed size in bytes (0xffffffff when the real size is in a ZIP64 record). */
  size: number;
}

/**
 * Lists a ZIP archive's entries from its central directory, without inflating anything, or returns `undefined`
 * when the directory cannot be found or read. Used to refuse zip bombs before a library inflates them; declared
 * sizes can lie, but the libraries that inflate check them against what they get.
 */
export function zipEntries(bytes: Uint8Array): ZipEntry[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record is 22 bytes plus a comment of up to 65,535 bytes, at the very end.
  const lowest = Math.max(0, bytes.length - 22 - 65_535);
  let end = -1;
  for (let at = bytes.length - 22; at >= lowest; at--) {
    if (view.getUint32(at, true) === END_OF_CENTRAL_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) return undefined;
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names = new TextDecoder();
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL_FILE_HEADER) return undefined;
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    if (at + 46 + nameLength > bytes.length) return undefined;
    entries.push({ name: names.decode(bytes.subarray(at + 46, at + 46 + nameLength)), size });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
