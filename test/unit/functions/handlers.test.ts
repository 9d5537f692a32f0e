// The Lambda entry files: each exports `handler`, reads its config at import (cold start) and fails fast,
// naming every missing variable; a bad event is rejected at the edge before any AWS call.
import { ENV } from '../../../shared/env.ts';

const FULL: Record<string, string> = {
  [ENV.BUCKET]: 'bucket',
  [ENV.TABLE]: 'table',
  [ENV.JOB_QUEUE]: 'queue',
  [ENV.JOB_DEFINITION]: 'def',
  [ENV.STATE_MACHINE_ARN]: 'arn:aws:states:us-east-1:123456789012:stateMachine:m',
  [ENV.EVENT_BUS]: 'bus',
  [ENV.GPU_HOUR_PRICE_USD]: '1.006',
};

function load(name: string, env: Record<string, string>): { handler: (event: unknown) => Promise<unknown> } {
  const saved = { ...process.env };
  for (const key of Object.values(ENV)) delete process.env[key];
  Object.assign(process.env, { AWS_REGION: 'us-east-1' }, env);
  try {
    let loaded: { handler: (event: unknown) => Promise<unknown> } | undefined;
    jest.isolateModules(() => {
      loaded = require(`../../../functions/${name}/handler.ts`);
    });
    return loaded!;
  } finally {
    process.env = saved;
  }
}

test.each(['submit-job', 'evaluate-stop', 'request-stop', 'finalize'])('%s exports handler', (name) => {
  expect(typeof load(name, FULL).handler).toBe('function');
});

test('a missing variable fails the cold start with its name', () => {
  expect(() => load('submit-job', { [ENV.BUCKET]: 'b' })).toThrow(
    /missing environment variable\(s\): PLATEAU_TABLE, PLATEAU_JOB_QUEUE, PLATEAU_JOB_DEFINITION, PLATEAU_STATE_MACHINE_ARN/,
  );
  expect(() => load('evaluate-stop', {})).toThrow(/PLATEAU_TABLE/);
  expect(() => load('finalize', { ...FULL, [ENV.GPU_HOUR_PRICE_USD]: 'cheap' })).toThrow(
    /non-negative number/,
  );
});

test('malformed events are rejected at the edge', async () => {
  await expect(load('evaluate-stop', FULL).handler({ nope: 1 })).rejects.toThrow();
  await expect(load('request-stop', FULL).handler({ jobId: 7 })).rejects.toThrow();
  await expect(load('finalize', FULL).handler(null)).rejects.toThrow();
  await expect(load('submit-job', FULL).handler({ Records: 'x' })).rejects.toThrow(
    /neither an S3 notification/,
  );
});
