import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ERRORS } from './errors.ts';

/**
 * Where object bytes live, and the ordering that keeps rows and files consistent.
 *
 * Layout under `<workDir>/storage/`:
 *   tmp/<uuid>.part             bytes being received (or copied); never referenced by a row
 *   objects/<v0v1>/<version>    committed bytes, immutable, named by the row's `storage.objects.version`
 *
 * Object keys never become file paths: a key only lives in the row, and the row's `version` (a UUID the stack
 * generates) names the file. Renames, moves and copies across buckets are row updates; nothing on disk can be
 * reached through a key.
 *
 * Writing an object: stream the body into `tmp/` (no transaction is open while the network is read); then, in
 * one transaction, insert/update the row with a fresh version and rename the temp file to `objects/<version>`
 * *before* committing. If anything fails before the commit the file is removed again. So:
 *   - a failed or aborted upload leaves no row, and its temp file is deleted (or swept at the next start);
 *   - a crash after the rename but before the commit leaves a file no row points to (swept at the next start);
 *   - a committed row always points at a file that is already in place.
 * Replacing or deleting an object commits the row change first and unlinks the old file afterwards; a crash in
 * between leaves only an unreferenced file. {@link BlobStore.sweep} runs at start: it empties `tmp/` and deletes
 * files whose version no row references.
 */
export class BlobStore {
  readonly root: string;
  private readonly tmpDir: string;
  private readonly objectsDir: string;

  constructor(workDir: string) {
    this.root = join(workDir, 'storage');
    this.tmpDir = join(this.root, 'tmp');
    this.objectsDir = join(this.root, 'objects');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.objectsDir, { recursive: true });
  }

  /** A fresh version id (names the committed file). */
  newVersion(): string {
    return randomUUID();
  }

  private pathOf(version: string): string {
    if (!/^[0-9a-f-]{36}$/i.test(version)) throw ERRORS.noSuchKey();
    return join(this.objectsDir, version.slice(0, 2), version);
  }

  /**
   * Streams `source` into a new temp file, refusing more than `limit` bytes as it goes (nothing is buffered in
   * memory). Returns the temp path, size and MD5 (the ETag). The temp file is removed on any failure.
   */
  async receive(source: Readable, limit: number, isTruncated?: () => boolean): Promise<TempBlob> {
    const path = join(this.tmpDir, `${randomUUID()}.part`);
    const hash = createHash('md5');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > limit) {
          done(ERRORS.entityTooLarge());
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(path, { flags: 'wx' }));
      if (isTruncated?.()) throw ERRORS.entityTooLarge();
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { path, size, eTag: `"${hash.digest('hex')}"` };
  }

  /** Copies a committed object's bytes to a new temp file (for copy). */
  async duplicate(version: string): Promise<string> {
    const path = join(this.tmpDir, `${randomUUID()}.part`);
    try {
      await copyFile(this.pathOf(version), path);
    } catch (error) {
      await rm(path, { force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw ERRORS.noSuchKey();
      throw error;
    }
    return path;
  }

  /** Moves a temp file into place as `version`. Call inside the transaction that commits the row. */
  async place(tempPath: string, version: string): Promise<void> {
    const target = this.pathOf(version);
    await mkdir(join(this.objectsDir, version.slice(0, 2)), { recursive: true });
    await rename(tempPath, target);
  }

  /** Opens a committed version for reading; a missing file reads as a missing object. */
  async open(version: string | null): Promise<FileHandle> {
    if (!version) throw ERRORS.noSuchKey();
    try {
      return await open(this.pathOf(version), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw ERRORS.noSuchKey();
      throw error;
    }
  }

  /** Removes files (temp paths or committed versions); missing files are fine. */
  async discardTemp(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async remove(versions: Array<string | null | undefined>): Promise<void> {
    for (const version of versions) {
      if (!version) continue;
      try {
        await unlink(this.pathOf(version));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && !(error instanceof Error && error.name === 'StorageError')) throw error;
      }
    }
  }

  /**
   * Start-up sweep: deletes leftover temp files and every committed file whose version `isReferenced` reports
   * no row for (crash between rename and commit, or between a row's delete and its file's unlink).
   */
  async sweep(isReferenced: (versions: string[]) => Promise<Set<string>>): Promise<{ temp: number; orphans: number }> {
    let temp = 0;
    for (const entry of await readdir(this.tmpDir)) {
      await rm(join(this.tmpDir, entry), { force: true, recursive: true });
      temp += 1;
    }
    let orphans = 0;
    for (const shard of await readdir(this.objectsDir)) {
      const dir = join(this.objectsDir, shard);
      const files = await readdir(dir).catch(() => [] as string[]);
      for (let i = 0; i < files.length; i += 500) {
        const batch = files.slice(i, i + 500);
        const referenced = await isReferenced(batch);
        for (const file of batch) {
          if (referenced.has(file)) continue;
          await rm(join(dir, file), { force: true });
          orphans += 1;
        }
      }
    }
    return { temp, orphans };
  }
}

/** Bytes received into a temp file. */
export interface TempBlob {
  path: string;
  size: number;
  eTag: string;
}
