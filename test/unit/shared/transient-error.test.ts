// The trainer's split of failures into temporary (retried by Batch on TRANSIENT_EXIT_CODE) and final.
import { isTransientError, TRANSIENT_EXIT_CODE } from '../../../shared/transient-error.ts';

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...extra });

test('throttling, 5xx and dropped connections are temporary; everything else is not', () => {
  expect(TRANSIENT_EXIT_CODE).toBe(75);
  expect(isTransientError(named('SlowDown'))).toBe(true);
  expect(isTransientError(named('ProvisionedThroughputExceededException'))).toBe(true);
  expect(isTransientError(named('Unknown', { $metadata: { httpStatusCode: 503 } }))).toBe(true);
  expect(isTransientError(named('Unknown', { $metadata: { httpStatusCode: 429 } }))).toBe(true);
  expect(isTransientError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  expect(isTransientError(new Error('wrapped', { cause: named('ThrottlingException') }))).toBe(true);

  expect(isTransientError(named('AccessDenied', { $metadata: { httpStatusCode: 403 } }))).toBe(false);
  expect(isTransientError(new RangeError('bad tensor shape'))).toBe(false);
  expect(isTransientError(new Error('inputs changed: image a.png was replaced'))).toBe(false);
  expect(isTransientError('text')).toBe(false);
});
