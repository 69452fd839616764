import { describe, expect, it } from 'vitest';
import { ApiFailure, describeError, describeProcessingError, failureFromBody } from '../../web/src/errors.ts';

// What the browser app says for each failure: a sentence, never a bare code or status.
const body = (code: string, message: string, facts: Record<string, unknown> = {}) => JSON.stringify({ error: { code, message, ...facts } });

describe('describeError', () => {
  it.each([
    [401, body('unauthenticated', 'Missing bearer token.'), 'Your session has ended. Please sign in again.'],
    [409, body('file_exists', 'A file named a.txt already exists.'), 'You already have a file with this name. Rename the file, or delete the old one first.'],
    [413, body('file_too_large', 'The file is larger than your plan allows (10 MiB).'), 'The file is larger than your plan allows (10 MiB).'],
    [415, body('unsupported_file_type', 'x'), 'This kind of file cannot be read. Upload text, Markdown, CSV, HTML, JSON, PDF or Word (.docx) files.'],
    [403, body('document_limit_reached', ''), 'Your plan allows no more documents. Delete one or upgrade your plan.'],
    [503, body('billing_not_configured', 'Set STRIPE_SECRET_KEY.'), 'Billing is not set up on this server yet.'],
    [400, JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid login credentials' }), 'The e-mail address or password is not right.'],
    [418, body('something_new', 'the teapot is busy'), 'The teapot is busy.'],
    [502, 'Bad Gateway', 'Something went wrong on the server. Try again.'],
    [415, '', 'That kind of file is not supported.'],
  ])('%i %s', (status, text, sentence) => {
    expect(describeError(failureFromBody(status, text))).toBe(sentence);
  });

  it('tells the daily limit with the limit and when it resets', () => {
    const failure = failureFromBody(429, body('daily_limit_reached', 'Daily limit reached.', { limit: 20, used: 20, resets_at: '2026-12-02T00:00:00.000Z' }));
    expect(failure.facts).toEqual({ limit: 20, used: 20, resets_at: '2026-12-02T00:00:00.000Z' });
    expect(describeError(failure)).toMatch(/^You have used all 20 questions your plan allows today\. It resets at .+\. Upgrade for more\.$/);
  });

  it("reads the AI SDK's error (the response body as its message) and supabase-js's errors", () => {
    expect(describeError(new Error(body('daily_limit_reached', 'x', { limit: 5 })))).toMatch(/^You have used all 5 questions/);
    expect(describeError(Object.assign(new Error('Invalid login credentials'), { code: 'invalid_credentials', status: 400 }))).toBe(
      'The e-mail address or password is not right.',
    );
    expect(describeError(new TypeError('Failed to fetch'))).toBe('The server could not be reached. Check that it is running.');
    expect(describeError(new ApiFailure(0, '', ''))).toBe('The request failed.');
  });

  it('keeps processing failures as the sentences the worker stored', () => {
    expect(describeProcessingError('This PDF is damaged and cannot be read')).toBe('This PDF is damaged and cannot be read.');
    expect(describeProcessingError(null)).toBe('Processing failed.');
  });
});
