// request-stop: flags the record (stopRequested, reason, criterion step, STOPPING) once; repeats change nothing.
import { parseRequestStopInput, requestStop } from '../../../../functions/request-stop/request-stop.ts';
import type { JobRecord } from '../../../../shared/job-record.ts';
import { ManualClock, MemoryJobStore } from '../in-memory-ports.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const running: JobRecord = {
  jobId: 'j',
  status: 'RUNNING',
  createdAt: T0,
  updatedAt: T0,
  stopRequested: false,
  attempts: 1,
};

async function setup(rec: JobRecord = running) {
  const clock = new ManualClock('2026-01-01T00:10:00.000Z');
  const jobs = new MemoryJobStore(clock);
  await jobs.create(rec);
  return { jobs, clock };
}

test('sets the flag, reason, criterion step and STOPPING, and returns the state with stopRequested', async () => {
  const deps = await setup();
  const state = parseRequestStopInput({
    jobId: 'j',
    decision: { action: 'stop', waitSeconds: 1, criterionStep: 412, reason: 'criterion' },
  });
  const out = await requestStop(state, deps);
  expect(out).toEqual({ ...state, stopRequested: true });
  expect(await deps.jobs.get('j')).toMatchObject({
    status: 'STOPPING',
    stopRequested: true,
    stopReason: 'criterion',
    criterionStep: 412,
    stopRequestedAt: '2026-01-01T00:10:00.000Z',
  });
});

test('a second call keeps the first request time and reason', async () => {
  const deps = await setup();
  const state = {
    jobId: 'j',
    stopRequested: false,
    decision: { action: 'stop' as const, waitSeconds: 1, criterionStep: 5, reason: 'criterion' },
  };
  await requestStop(state, deps);
  deps.clock.ms += 60_000;
  await requestStop(
    { ...state, decision: { ...state.decision, reason: 'cancelled', criterionStep: 9 } },
    deps,
  );
  expect(await deps.jobs.get('j')).toMatchObject({
    stopReason: 'criterion',
    criterionStep: 5,
    stopRequestedAt: '2026-01-01T00:10:00.000Z',
  });
});

test('a cancel already on the record keeps reason cancelled', async () => {
  const deps = await setup({ ...running, status: 'STOPPING', stopRequested: true, stopReason: 'cancelled' });
  await requestStop(
    { jobId: 'j', stopRequested: false, decision: { action: 'stop', waitSeconds: 1, reason: 'cancelled' } },
    deps,
  );
  expect(await deps.jobs.get('j')).toMatchObject({ status: 'STOPPING', stopReason: 'cancelled' });
});

test('a finished job is left as it is; an unknown job is an error', async () => {
  const deps = await setup({ ...running, status: 'SUCCEEDED' });
  expect((await requestStop({ jobId: 'j', stopRequested: false }, deps)).stopRequested).toBe(true);
  expect(await deps.jobs.get('j')).toMatchObject({ status: 'SUCCEEDED', stopRequested: false });
  await expect(requestStop({ jobId: 'x', stopRequested: false }, deps)).rejects.toThrow(/no job record/);
});
