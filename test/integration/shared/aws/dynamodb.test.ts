// The DynamoDB adapters against a real DynamoDB implementation (dynalite, in-process): conditional job-record
// writes, the sample sink (batched or write-behind; chunks of 25, unprocessed items retried), the reader (all
// samples or those after a step) and the stop signal.
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbJobStore } from '../../../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader, DynamoDbSampleSink } from '../../../../shared/aws/dynamodb-samples.ts';
import { DynamoDbStopSignal } from '../../../../shared/aws/dynamodb-stop-signal.ts';
import { type JobRecord, markTrainerStarted, recordTrainerError } from '../../../../shared/job-record.ts';
import { JobManifest } from '../../../../shared/manifest.ts';
import { METHOD_DEFAULTS } from '../../../../shared/methods.ts';
import type { LossSample } from '../../../../shared/ports.ts';
import { TTL_ATTRIBUTE } from '../../../../shared/table-layout.ts';
import { type EmbeddedAws, startEmbeddedAws } from './embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

const T0 = '2026-01-01T00:00:00.000Z';
function queued(jobId: string): JobRecord {
  return {
    jobId,
    status: 'QUEUED',
    createdAt: T0,
    updatedAt: T0,
    manifest: JobManifest.parse({ token: '<cat>' }),
    stopRequested: false,
    attempts: 0,
  };
}
const sample = (step: number, wallTimeMs = 1_700_000_000_000 + step): LossSample => ({
  step,
  detLoss: 1 / (step + 1),
  trainLoss: 0.5,
  lr: 0.01,
  wallTimeMs,
});

describe('DynamoDbJobStore', () => {
  test('create is conditional: the second create of the same job changes nothing', async () => {
    const store = new DynamoDbJobStore(aws.documents, aws.table);
    expect(await store.create(queued('j1'))).toBe(true);
    expect(await store.create({ ...queued('j1'), status: 'FAILED', error: 'x' })).toBe(false);
    const got = await store.get('j1');
    expect(got?.status).toBe('QUEUED');
    expect(got?.manifest?.stop.window).toBe(METHOD_DEFAULTS['textual-inversion'].window);
    expect(await store.get('nope')).toBeUndefined();
  });

  test('update applies only from the allowed statuses and honours the extra conditions', async () => {
    const store = new DynamoDbJobStore(aws.documents, aws.table, () => new Date('2026-01-01T00:01:00.000Z'));
    await store.create(queued('j2'));
    const running = await store.update('j2', { from: ['QUEUED'], to: 'RUNNING', patch: { attempts: 1 } });
    expect(running).toMatchObject({ status: 'RUNNING', attempts: 1, updatedAt: '2026-01-01T00:01:00.000Z' });
    expect(await store.update('j2', { from: ['QUEUED'], to: 'RUNNING' })).toBeUndefined();
    expect(await store.update('missing', { from: ['QUEUED'], to: 'RUNNING' })).toBeUndefined();

    const first = await store.update('j2', {
      from: ['RUNNING'],
      patch: { batchJobId: 'b-1' },
      when: { kind: 'absent', field: 'batchJobId' },
    });
    expect(first?.batchJobId).toBe('b-1');
    const second = await store.update('j2', {
      from: ['RUNNING'],
      patch: { batchJobId: 'b-2' },
      when: { kind: 'absent', field: 'batchJobId' },
    });
    expect(second).toBeUndefined();
    expect((await store.get('j2'))?.batchJobId).toBe('b-1');
  });

  test('the submit lease is taken once until it expires, and never once a Batch job is recorded', async () => {
    const store = new DynamoDbJobStore(aws.documents, aws.table);
    await store.create(queued('j3'));
    const claim = (nowMs: number) =>
      store.update('j3', {
        from: ['QUEUED'],
        patch: { submitLeaseUntilMs: nowMs + 1000 },
        when: { kind: 'leaseFree', nowMs },
      });
    expect(await claim(10_000)).toBeDefined();
    expect(await claim(10_500)).toBeUndefined();
    expect(await claim(11_001)).toBeDefined();
    await store.update('j3', { from: ['QUEUED'], patch: { batchJobId: 'b' } });
    expect(await claim(99_999)).toBeUndefined();
  });

  test("each trainer attempt clears the previous attempt's error and the queue position in the same write", async () => {
    const store = new DynamoDbJobStore(aws.documents, aws.table);
    await store.create({ ...queued('j4'), queuePosition: 3 });
    const first = await markTrainerStarted(store, 'j4', new Date(T0));
    expect(first).toMatchObject({ status: 'RUNNING', startedAt: T0 });
    expect(first).not.toHaveProperty('queuePosition');
    await recordTrainerError(store, 'j4', 'trainer failed: SlowDown');
    expect((await store.get('j4'))?.error).toBe('trainer failed: SlowDown');
    // The retried attempt: already RUNNING, so only the clearing applies (startedAt stays the first attempt's).
    const retried = await markTrainerStarted(store, 'j4', new Date('2026-01-01T00:05:00.000Z'));
    expect(retried).toMatchObject({ status: 'RUNNING', startedAt: T0 });
    expect(retried).not.toHaveProperty('error');
    expect(await store.get('j4')).not.toHaveProperty('error');
    // A final job keeps its error.
    await store.update('j4', { from: ['RUNNING'], to: 'FAILED', patch: { error: 'final' } });
    expect(await markTrainerStarted(store, 'j4', new Date())).toBeUndefined();
    expect((await store.get('j4'))?.error).toBe('final');
  });
});

describe('DynamoDbSampleSink and DynamoDbSampleReader', () => {
  test("discardFrom deletes this job's samples at or after a step (more than one batch), nothing else", async () => {
    const sink = new DynamoDbSampleSink(aws.documents, aws.table, 'lost', { ttlDays: 1 });
    const other = new DynamoDbSampleSink(aws.documents, aws.table, 'other', { ttlDays: 1 });
    for (let step = 0; step < 90; step++) {
      await sink.write(sample(step));
      await other.write(sample(step));
    }
    await Promise.all([sink.flush(), other.flush()]);
    const store = new DynamoDbJobStore(aws.documents, aws.table);
    await store.create(queued('lost'));
    // A resumed attempt from the checkpoint at step 40 drops the 50 samples the lost attempt wrote past it.
    const resumed = new DynamoDbSampleSink(aws.documents, aws.table, 'lost', { ttlDays: 1 });
    await resumed.discardFrom(40);
    const reader = new DynamoDbSampleReader(aws.documents, aws.table);
    expect((await reader.read('lost')).map((s) => s.step)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await reader.read('other')).toHaveLength(90);
    expect((await store.get('lost'))?.status).toBe('QUEUED');
    await resumed.discardFrom(0);
    expect(await reader.read('lost')).toEqual([]);
  });

  test('writes in chunks of 25, overwrites a rewritten step, sets the TTL, reads back in step order', async () => {
    const sink = new DynamoDbSampleSink(aws.documents, aws.table, 's1', {
      ttlDays: 2,
      maxBuffered: 1000,
      writeBehind: false,
    });
    for (let step = 59; step >= 0; step--) await sink.write(sample(step));
    await sink.write({ ...sample(7), trainLoss: 9 });
    await sink.flush();
    expect(sink.stats).toEqual({ items: 60, requests: 3, retries: 0 });
    // A resumed trainer rewrites steps 50–59: no duplicates, the last write wins.
    const resumed = new DynamoDbSampleSink(aws.documents, aws.table, 's1', { ttlDays: 2 });
    for (let step = 50; step < 60; step++) await resumed.write({ ...sample(step), trainLoss: 2 });
    await resumed.flush();
    const read = await new DynamoDbSampleReader(aws.documents, aws.table).read('s1');
    expect(read.map((s) => s.step)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(read[7]?.trainLoss).toBe(9);
    expect(read[55]?.trainLoss).toBe(2);
    expect(read[3]).toEqual(sample(3));
    const raw = await aws.documents.send(
      new QueryCommand({
        TableName: aws.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'JOB#s1' },
        Limit: 1,
      }),
    );
    expect(raw.Items?.[0]?.[TTL_ATTRIBUTE]).toBe(Math.floor(sample(0).wallTimeMs / 1000) + 2 * 86_400);
  });

  test('flushes by itself once maxBuffered samples are waiting', async () => {
    const sink = new DynamoDbSampleSink(aws.documents, aws.table, 's2', {
      ttlDays: 1,
      maxBuffered: 10,
      writeBehind: false,
    });
    for (let step = 0; step < 25; step++) await sink.write(sample(step));
    expect((await new DynamoDbSampleReader(aws.documents, aws.table).read('s2')).length).toBe(20);
  });

  test('retries unprocessed items with growing backoff until every item is written', async () => {
    // A real client whose first two BatchWriteItem calls send only part of the request and hand the rest
    // back as UnprocessedItems, as DynamoDB does under throttling.
    const flaky = DynamoDBDocumentClient.from(aws.dynamo);
    let throttled = 0;
    flaky.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { RequestItems?: Record<string, unknown[]> };
        const requests = input.RequestItems?.[aws.table];
        if (!requests || throttled >= 2) return next(args);
        throttled++;
        const held = requests.slice(10);
        input.RequestItems = { [aws.table]: requests.slice(0, 10) };
        const result = await next(args);
        const output = result.output as { UnprocessedItems?: Record<string, unknown[]> };
        output.UnprocessedItems = held.length ? { [aws.table]: held } : {};
        return result;
      },
      { step: 'initialize', name: 'throttle', override: true },
    );
    const delays: number[] = [];
    const sink = new DynamoDbSampleSink(flaky, aws.table, 's3', {
      ttlDays: 1,
      maxBuffered: 1000,
      writeBehind: false,
      random: () => 1,
      baseDelayMs: 10,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    for (let step = 0; step < 25; step++) await sink.write(sample(step));
    await sink.flush();
    expect(delays).toEqual([10, 20]);
    expect(sink.stats).toEqual({ items: 25, requests: 3, retries: 2 });
    expect((await new DynamoDbSampleReader(aws.documents, aws.table).read('s3')).length).toBe(25);
    // The document client shares the base client's middleware stack: leave it as found.
    flaky.middlewareStack.remove('throttle');
  });

  test('gives up with a clear error after maxAttempts', async () => {
    const stuck = DynamoDBDocumentClient.from(aws.dynamo);
    stuck.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { RequestItems?: Record<string, unknown[]> };
        const requests = input.RequestItems?.[aws.table] ?? [];
        input.RequestItems = { [aws.table]: requests.slice(0, 1) };
        const result = await next(args);
        (result.output as { UnprocessedItems?: unknown }).UnprocessedItems = {
          [aws.table]: requests.slice(1),
        };
        return result;
      },
      { step: 'initialize', name: 'stuck', override: true },
    );
    const sink = new DynamoDbSampleSink(stuck, aws.table, 's4', {
      ttlDays: 1,
      maxAttempts: 3,
      writeBehind: false,
      sleep: async () => {},
    });
    for (let step = 0; step < 10; step++) await sink.write(sample(step));
    await expect(sink.flush()).rejects.toThrow(/7 sample\(s\) unprocessed after 3 attempts/);
    // Write-behind: the same failure in the background surfaces at the next write (or flush).
    const behind = new DynamoDbSampleSink(stuck, aws.table, 's5', {
      ttlDays: 1,
      maxAttempts: 1,
      sleep: async () => {},
    });
    await behind.write(sample(0));
    await behind.write(sample(1));
    await behind.write(sample(2));
    const next = async () => {
      for (let step = 3; step < 100; step++) await behind.write(sample(step));
      await behind.flush();
    };
    await expect(next()).rejects.toThrow(/unprocessed after 1 attempts/);
    stuck.middlewareStack.remove('stuck');
  });

  test('write-behind: a sample is readable before any flush; flush waits for the rest, in order', async () => {
    const sink = new DynamoDbSampleSink(aws.documents, aws.table, 'wb', { ttlDays: 1 });
    const reader = new DynamoDbSampleReader(aws.documents, aws.table);
    await sink.write(sample(0));
    let seen: LossSample[] = [];
    for (let i = 0; i < 200 && seen.length === 0; i++) {
      seen = await reader.read('wb');
      if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen).toEqual([sample(0)]);
    for (let step = 1; step < 60; step++) await sink.write(sample(step));
    await sink.write({ ...sample(59), trainLoss: 7 });
    await sink.flush();
    const all = await reader.read('wb');
    expect(all.map((s) => s.step)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(all[59]?.trainLoss).toBe(7);
    // Coalesced: fewer requests than samples, and every item counted once or more (a rewrite is a new item).
    expect(sink.stats.requests).toBeLessThan(61);
    expect(sink.stats.items).toBeGreaterThanOrEqual(60);
    // readAfter: only the steps after the one given.
    expect((await reader.readAfter('wb', 56)).map((s) => s.step)).toEqual([57, 58, 59]);
    expect(await reader.readAfter('wb', 59)).toEqual([]);
  });
});

test('DynamoDbStopSignal reads the stop flag and reason from the job record', async () => {
  const store = new DynamoDbJobStore(aws.documents, aws.table);
  await store.create(queued('stop1'));
  const signal = new DynamoDbStopSignal(aws.documents, aws.table, 'stop1');
  expect(await signal.check()).toEqual({ stop: false });
  await store.update('stop1', {
    from: ['QUEUED'],
    to: 'STOPPING',
    patch: { stopRequested: true, stopReason: 'criterion' },
  });
  expect(await signal.check()).toEqual({ stop: true, reason: 'criterion' });
  // With the criterion step, which the trainer trains through before it stops.
  await store.update('stop1', { from: ['STOPPING'], patch: { criterionStep: 41 } });
  expect(await signal.check()).toEqual({ stop: true, reason: 'criterion', criterionStep: 41 });
  expect(await new DynamoDbStopSignal(aws.documents, aws.table, 'absent').check()).toEqual({ stop: false });
});
