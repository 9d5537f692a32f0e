// The job status machine and the shared condition semantics every JobStore implements.
import {
  applyUpdate,
  canTransition,
  conditionHolds,
  isFinal,
  JOB_STATUSES,
  type JobRecord,
  recordTrainerError,
  requestCancel,
  sourcesOf,
} from '../../../shared/job-record.ts';
import { ManualClock, MemoryJobStore } from '../functions/in-memory-ports.ts';

test('the pipeline path QUEUED → RUNNING → STOPPING → SUCCEEDED is allowed, and never backwards', () => {
  expect(canTransition('QUEUED', 'RUNNING')).toBe(true);
  expect(canTransition('RUNNING', 'STOPPING')).toBe(true);
  expect(canTransition('STOPPING', 'SUCCEEDED')).toBe(true);
  expect(canTransition('STOPPING', 'CANCELLED')).toBe(true);
  expect(canTransition('RUNNING', 'QUEUED')).toBe(false);
  expect(canTransition('STOPPING', 'RUNNING')).toBe(false);
  for (const status of JOB_STATUSES) expect(canTransition(status, status)).toBe(false);
});

test('final statuses never change', () => {
  for (const final of ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const) {
    expect(isFinal(final)).toBe(true);
    for (const to of JOB_STATUSES) expect(canTransition(final, to)).toBe(false);
  }
  expect(isFinal('STOPPING')).toBe(false);
  expect(sourcesOf('FAILED')).toEqual(['QUEUED', 'RUNNING', 'STOPPING']);
  expect(sourcesOf('QUEUED')).toEqual([]);
});

const T0 = '2026-01-01T00:00:00.000Z';
const record: JobRecord = {
  jobId: 'j',
  status: 'QUEUED',
  createdAt: T0,
  updatedAt: T0,
  stopRequested: false,
  attempts: 0,
};

test('conditions: absent fields and the submit lease', () => {
  expect(conditionHolds(record, { kind: 'absent', field: 'batchJobId' })).toBe(true);
  expect(conditionHolds({ ...record, batchJobId: 'b' }, { kind: 'absent', field: 'batchJobId' })).toBe(false);
  expect(conditionHolds(record, { kind: 'leaseFree', nowMs: 1 })).toBe(true);
  expect(conditionHolds({ ...record, submitLeaseUntilMs: 5 }, { kind: 'leaseFree', nowMs: 5 })).toBe(false);
  expect(conditionHolds({ ...record, submitLeaseUntilMs: 5 }, { kind: 'leaseFree', nowMs: 6 })).toBe(true);
  expect(conditionHolds({ ...record, batchJobId: 'b' }, { kind: 'leaseFree', nowMs: 6 })).toBe(false);
  expect(conditionHolds(record, undefined)).toBe(true);
});

test('applyUpdate sets status, patch and updatedAt, and validates the result', () => {
  const now = new Date('2026-01-01T00:05:00.000Z');
  expect(applyUpdate(record, 'RUNNING', { attempts: 1 }, now)).toMatchObject({
    status: 'RUNNING',
    attempts: 1,
    updatedAt: now.toISOString(),
    createdAt: T0,
  });
  expect(() => applyUpdate(record, undefined, { attempts: -1 }, now)).toThrow();
});

test('requestCancel flags a running job once and leaves final or already-stopping jobs alone', async () => {
  const clock = new ManualClock();
  const jobs = new MemoryJobStore(clock);
  await jobs.create({ ...record, status: 'RUNNING' });
  expect(await requestCancel(jobs, 'j', clock.now())).toMatchObject({
    status: 'STOPPING',
    stopRequested: true,
    stopReason: 'cancelled',
    stopRequestedAt: T0,
  });
  expect(await requestCancel(jobs, 'j', clock.now())).toBeUndefined();
  await jobs.create({ ...record, jobId: 'done', status: 'SUCCEEDED' });
  expect(await requestCancel(jobs, 'done', clock.now())).toBeUndefined();
  await jobs.create({ ...record, jobId: 'stopping', status: 'RUNNING', stopReason: 'criterion' });
  expect(await requestCancel(jobs, 'stopping', clock.now())).toBeUndefined();
});

test('recordTrainerError puts the reason on a live job and leaves final jobs alone', async () => {
  const clock = new ManualClock();
  const jobs = new MemoryJobStore(clock);
  await jobs.create({ ...record, status: 'RUNNING' });
  expect(
    await recordTrainerError(jobs, 'j', `image cat.png does not decode${'!'.repeat(5000)}`),
  ).toMatchObject({
    status: 'RUNNING',
    error: expect.stringMatching(/^image cat\.png does not decode!+$/),
  });
  expect((await jobs.get('j'))?.error).toHaveLength(4000);
  await jobs.create({ ...record, jobId: 'done', status: 'SUCCEEDED' });
  expect(await recordTrainerError(jobs, 'done', 'x')).toBeUndefined();
});
