import { describe, expect, it } from 'vitest';
import { fromDatabaseError, unwrap } from '../../../supabase/functions/_shared/database-errors.ts';
import { ApiError } from '../../../supabase/functions/_shared/errors.ts';

const error = (code: string) => ({ code, message: `message for ${code}`, details: '', hint: '' });

describe('fromDatabaseError', () => {
  it.each([
    ['23505', 409, 'conflict'],
    ['23503', 409, 'conflict'],
    ['42501', 403, 'forbidden'],
    ['PGRST116', 404, 'not_found'],
    ['P0002', 404, 'not_found'],
    ['22P02', 400, 'validation_failed'],
    ['XX000', 500, 'internal_error'],
    ['PGRST301', 500, 'internal_error'],
  ])('maps %s to %i %s by code', (code, status, apiCode) => {
    const mapped = fromDatabaseError(error(code));
    expect([mapped.status, mapped.code]).toEqual([status, apiCode]);
  });

  it('keeps the database error as the cause, for the log, and never in the message', () => {
    const mapped = fromDatabaseError(error('XX000'));
    expect(mapped.cause).toEqual(error('XX000'));
    expect(mapped.message).toBe('An unexpected error occurred.');
  });

  it("uses the caller's answer for a code it overrides", () => {
    const mapped = fromDatabaseError(error('PGRST116'), { PGRST116: () => new ApiError(404, 'movie_not_found', 'No movie with that id.') });
    expect([mapped.status, mapped.code, mapped.message]).toEqual([404, 'movie_not_found', 'No movie with that id.']);
  });
});

describe('unwrap', () => {
  it('returns the data of a successful result', () => {
    expect(unwrap({ data: [{ id: 1 }], error: null })).toEqual([{ id: 1 }]);
  });

  it('throws the mapped error of a failed result', () => {
    expect(() => unwrap({ data: null, error: error('42501') })).toThrow(expect.objectContaining({ status: 403, code: 'forbidden' }));
  });
});
