import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../../stack/index.ts';
import { anonClient, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, PASSWORD } from './helpers.ts';

describe('auth persistence', () => {
  let dataDir: string | undefined;
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps users across a restart of the stack on the same data directory', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgebrain-auth-'));
    const options = { projectDir: AUTH_PROJECT, dataDir, apiPort: 0, dbPort: 0 };
    const email = uniqueEmail('persist');

    stack = await createStack(options);
    const signUp = await anonClient(stack).auth.signUp({ email, password: PASSWORD, options: { data: { kept: true } } });
    expect(signUp.error).toBeNull();
    await stack.stop();
    stack = undefined;

    stack = await createStack(options);
    const { data, error } = await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: signUp.data.user!.id, email, user_metadata: { kept: true } });
    // The refresh token issued before the restart still works.
    const refreshed = await anonClient(stack).auth.refreshSession({ refresh_token: signUp.data.session!.refresh_token });
    expect(refreshed.error).toBeNull();
  });
});
