// A stand-in for the trainer process (the only faked part of the embedded-pipeline test): it reads the job
// like the real trainer (ENV, manifest from S3), streams a plateauing deterministic loss to DynamoDB through
// the real sample sink, checks the real stop signal at every flush, and writes the embedding on stop. A job whose
// token is CRASH_TOKEN throws at step CRASH_STEP and records the error the way trainer-image/src/main.ts does;
// a FLAKY_TOKEN job's first attempt fails temporarily (exit TRANSIENT_EXIT_CODE), as main.ts exits then.
import { S3Client } from '@aws-sdk/client-s3';
import { createDocumentClient } from '../../../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleSink } from '../../../../shared/aws/dynamodb-samples.ts';
import { DynamoDbStopSignal } from '../../../../shared/aws/dynamodb-stop-signal.ts';
import { S3ObjectStore } from '../../../../shared/aws/s3-store.ts';
import { readEnv } from '../../../../shared/env.ts';
import { summarizeError } from '../../../../shared/failure-summary.ts';
import { markTrainerStarted, recordTrainerError } from '../../../../shared/job-record.ts';
import { jobKeys } from '../../../../shared/keys.ts';
import { parseManifest } from '../../../../shared/manifest.ts';
import { isTransientError, TRANSIENT_EXIT_CODE } from '../../../../shared/transient-error.ts';

const FLUSH_EVERY = 5;
const STEP_MS = Number(process.env.FAKE_TRAINER_STEP_MS ?? 10);
const CRASH_TOKEN = '<crash>';
const CRASH_STEP = 30;
const FLAKY_TOKEN = '<flaky>';
const FLAKY_STEP = 10;

/** The mid-run failure of a CRASH_TOKEN job (a named function, so the recorded "where" points here). */
function failMidRun(step: number): never {
  throw new RangeError(`simulated failure at step ${step}\nsecond line of detail`);
}

async function main(): Promise<number> {
  const env = readEnv(['BUCKET', 'TABLE', 'JOB_ID']);
  const objects = new S3ObjectStore(new S3Client({}), env.BUCKET);
  const documents = createDocumentClient();
  const jobs = new DynamoDbJobStore(documents, env.TABLE);
  await markTrainerStarted(jobs, env.JOB_ID, new Date());
  try {
    return await train(env, objects, documents);
  } catch (error) {
    await recordTrainerError(jobs, env.JOB_ID, `trainer failed: ${summarizeError(error)}`);
    throw error;
  }
}

async function train(
  env: { readonly TABLE: string; readonly JOB_ID: string },
  objects: S3ObjectStore,
  documents: ReturnType<typeof createDocumentClient>,
): Promise<number> {
  const keys = jobKeys(env.JOB_ID);
  const bytes = await objects.get(keys.manifest);
  if (!bytes) throw new Error('no manifest');
  const manifest = parseManifest(bytes);
  const sink = new DynamoDbSampleSink(documents, env.TABLE, env.JOB_ID, { ttlDays: 1 });
  const stop = new DynamoDbStopSignal(documents, env.TABLE, env.JOB_ID);
  let step = 0;
  // A FLAKY_TOKEN job's first attempt meets S3 "SlowDown" at step FLAKY_STEP (a marker object records it).
  const flakyMarker = `${keys.root}checkpoints/flaky-marker`;
  const flaky = manifest.token === FLAKY_TOKEN && (await objects.head(flakyMarker)) === undefined;
  for (; step < manifest.training.maxSteps; step++) {
    if (manifest.token === CRASH_TOKEN && step === CRASH_STEP) failMidRun(step);
    if (flaky && step === FLAKY_STEP) {
      await objects.put(flakyMarker, new Uint8Array());
      throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });
    }
    // Decays with time constant 15 steps to a floor: DVAR's ratio falls below 0.15 a few windows in.
    const detLoss = 0.1 + 0.5 * Math.exp(-step / 15) + 1e-4 * Math.sin(step);
    await sink.write({ step, detLoss, trainLoss: detLoss * 1.1, lr: 5e-3, wallTimeMs: Date.now() });
    if ((step + 1) % FLUSH_EVERY === 0) {
      await sink.flush();
      if ((await stop.check()).stop) break;
    }
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
  }
  await sink.flush();
  await objects.put(keys.embedding(manifest.token), new TextEncoder().encode('fake embedding'));
  process.stderr.write(`fake trainer: ${env.JOB_ID} stopped after step ${step}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fake trainer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = isTransientError(error) ? TRANSIENT_EXIT_CODE : 1;
  },
);
