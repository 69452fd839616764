import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throwaway project directory (with a `supabase/` folder) built from a map of relative paths to contents. */
export interface TempProject {
  dir: string;
  write(path: string, content: string): Promise<void>;
  remove(): Promise<void>;
}

export async function tempProject(files: Record<string, string> = {}): Promise<TempProject> {
  const dir = await mkdtemp(join(tmpdir(), 'edgebrain-project-'));
  const write = async (path: string, content: string) => {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
  };
  await mkdir(join(dir, 'supabase', 'migrations'), { recursive: true });
  for (const [path, content] of Object.entries(files)) await write(path, content);
  return { dir, write, remove: () => rm(dir, { recursive: true, force: true }) };
}
