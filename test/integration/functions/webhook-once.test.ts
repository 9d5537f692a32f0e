// Webhook deliveries are not repeated when finalize is retried, on real DynamoDB (dynalite): the first finalize
// records its delivery id with a conditional write before the POST, then dies before marking the job notified; the
// retry publishes the completion event again (at least once) but sends no second webhook. Two finalizes at once
// send one.
import { type FinalizeDeps, finalize } from '../../../functions/finalize/finalize.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { StaticSecretSource } from '../../../shared/aws/secret-source.ts';
import { WEBHOOK_DELIVERY_HEADER } from '../../../shared/events.ts';
import type { JobRecord, JobStore } from '../../../shared/job-record.ts';
import { JobManifest } from '../../../shared/manifest.ts';
import {
  FakeBatch,
  ManualClock,
  MemoryEvents,
  MemoryObjectStore,
  MemorySamples,
  ScriptedPoster,
} from '../../unit/functions/in-memory-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

function failedJob(jobId: string): JobRecord {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    jobId,
    status: 'FAILED',
    createdAt: at,
    updatedAt: at,
    finishedAt: at,
    manifest: JobManifest.parse({ token: '<t>', notify: { webhookUrl: 'https://hooks.example.com/p' } }),
    stopRequested: false,
    stopReason: 'failed',
    error: 'trainer failed: out of memory',
    attempts: 1,
  };
}

function deps(jobs: JobStore, poster: ScriptedPoster, events: MemoryEvents): FinalizeDeps {
  return {
    objects: new MemoryObjectStore(),
    jobs,
    samples: new MemorySamples(),
    batch: new FakeBatch(),
    events,
    clock: new ManualClock('2026-01-01T00:05:00.000Z'),
    gpuHourPriceUsd: 1,
    webhook: { http: poster, secret: new StaticSecretSource('s3cret') },
  };
}

test('a finalize retried after sending the webhook does not send it again', async () => {
  const store = new DynamoDbJobStore(aws.documents, aws.table);
  await store.create(failedJob('hook-1'));
  const poster = new ScriptedPoster([200, 200]);
  const events = new MemoryEvents();
  // The first finalize dies on its last write (marking the job notified), after the POST.
  const dying: JobStore = {
    get: (id) => store.get(id),
    create: (r) => store.create(r),
    update: (id, change) =>
      change.patch?.notifiedAt ? Promise.reject(new Error('Lambda timed out')) : store.update(id, change),
  };
  const state = { jobId: 'hook-1', stopRequested: false };
  await expect(finalize(state, deps(dying, poster, events))).rejects.toThrow('Lambda timed out');
  expect(poster.calls).toHaveLength(1);
  const id = poster.calls[0]?.headers[WEBHOOK_DELIVERY_HEADER];
  expect((await store.get('hook-1'))?.webhookDeliveryId).toBe(id);

  const retried = await finalize(state, deps(store, poster, events));
  expect(retried).toMatchObject({
    published: true,
    webhook: { delivered: false, error: `not sent again: an earlier finalize took delivery ${id}` },
  });
  expect(poster.calls).toHaveLength(1);
  expect(events.published).toHaveLength(2);
  expect((await store.get('hook-1'))?.notifiedAt).toBeDefined();
});

test('two finalizes at once send one webhook', async () => {
  const store = new DynamoDbJobStore(aws.documents, aws.table);
  await store.create(failedJob('hook-2'));
  const poster = new ScriptedPoster([200, 200]);
  const events = new MemoryEvents();
  const state = { jobId: 'hook-2', stopRequested: false };
  const results = await Promise.all([
    finalize(state, deps(store, poster, events)),
    finalize(state, deps(store, poster, events)),
  ]);
  expect(poster.calls).toHaveLength(1);
  expect(results.map((r) => r.webhook?.delivered).sort()).toEqual([false, true]);
});
