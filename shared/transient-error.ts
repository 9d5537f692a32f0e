// Which failures are temporary (throttling, a 5xx, a dropped connection) and the exit code that says so: the
// trainer exits TRANSIENT_EXIT_CODE for them, and the Batch retry strategy retries that code (the attempt resumes
// from its checkpoint), while any other failure ends the job.

/** EX_TEMPFAIL from sysexits.h: "temporary failure; the user is invited to retry". */
export const TRANSIENT_EXIT_CODE = 75;

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'InternalServerError',
  'RequestTimeout',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/** True for an AWS SDK or network error that a later attempt may not meet (checked through `cause` chains). */
export function isTransientError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const fields = error as { name?: unknown; code?: unknown; $metadata?: unknown; cause?: unknown };
  if (typeof fields.name === 'string' && TRANSIENT_NAMES.has(fields.name)) return true;
  if (typeof fields.code === 'string' && TRANSIENT_CODES.has(fields.code)) return true;
  const status = (fields.$metadata as { httpStatusCode?: unknown } | undefined)?.httpStatusCode;
  if (typeof status === 'number' && (status === 429 || status >= 500)) return true;
  return isTransientError(fields.cause, depth + 1);
}
