/** Error codes edge-runtime's main service answers with when a worker cannot serve a request (contract §5). */
export type RuntimeErrorCode = 'BOOT_ERROR' | 'WORKER_ERROR' | 'WORKER_LIMIT';

const RUNTIME_ERRORS: Record<RuntimeErrorCode, { status: number; message: string }> = {
  BOOT_ERROR: { status: 503, message: 'Worker failed to boot (please check logs)' },
  WORKER_ERROR: { status: 500, message: 'Function exited due to an error (please check logs)' },
  WORKER_LIMIT: { status: 546, message: 'Worker failed to respond due to a resource limit (please check logs)' },
};

/** `{"code":"BOOT_ERROR","message":"…"}` with edge-runtime's status for that code. */
export function runtimeError(code: RuntimeErrorCode): Response {
  const { status, message } = RUNTIME_ERRORS[code];
  return Response.json({ code, message }, { status });
}

/**
 * Hosted Supabase's answer for a name that is not a deployed function: 404 `{"code":"NOT_FOUND","message":…}`
 * with `sb-error-code: NOT_FOUND` (the CLI's edge-runtime answers plain text, which supabase-js cannot parse).
 */
export function functionNotFound(): Response {
  return Response.json(
    { code: 'NOT_FOUND', message: 'Requested function was not found' },
    { status: 404, headers: { 'sb-error-code': 'NOT_FOUND' } },
  );
}

/** The CLI's local `verify_jwt` failure: 401 `{"msg":…}`. */
export function unauthorized(msg: string): Response {
  return Response.json({ msg }, { status: 401 });
}
