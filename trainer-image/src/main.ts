// Trainer container entry (AWS Batch, or the embedded runtime's local job runner): reads its configuration
// from ENV once, wires the S3 and DynamoDB adapters, and runs the job — resuming from the latest checkpoint
// on every start. Exit 0 when the run ended (stopped by the monitor, or at the step cap), 1 with the reason,
// 75 (retried by Batch) on a temporary failure or after SIGTERM, once the current step is checkpointed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleSink } from '../../shared/aws/dynamodb-samples.ts';
import { DynamoDbStopSignal } from '../../shared/aws/dynamodb-stop-signal.ts';
import { S3ArtifactStore, S3ObjectStore } from '../../shared/aws/s3-store.ts';
import { ENV, readEnv } from '../../shared/env.ts';
import { summarizeError } from '../../shared/failure-summary.ts';
import { markTrainerStarted, recordTrainerError } from '../../shared/job-record.ts';
import { jobKeys } from '../../shared/keys.ts';
import { isTransientError, TRANSIENT_EXIT_CODE } from '../../shared/transient-error.ts';
import { loadOnnxModel } from './train/onnx-model.ts';
import { generateOnnxImages, renderOnnxSamples } from './train/sampler.ts';
import { watchTermination } from './train/termination.ts';
import { TrainingInterrupted } from './train/train-loop.ts';
import { runTrainingJob } from './train/training-job.ts';

const DEFAULT_MODEL_CACHE = '/var/cache/plateau/models';
const DEFAULT_SAMPLE_TTL_DAYS = 30;

async function main(): Promise<number> {
  const env = readEnv(['BUCKET', 'TABLE', 'JOB_ID']);
  const device = process.env[ENV.EXECUTION_PROVIDER] ?? 'auto';
  // Only a GPU run has a GPU memory to respect; the CPU fallback (and the embedded runner) has none.
  const gpuMemoryText = process.env[ENV.GPU_MEMORY_BYTES];
  const gpuMemoryBytes = device !== 'cpu' && gpuMemoryText ? Number(gpuMemoryText) : undefined;
  if (gpuMemoryBytes !== undefined && !(gpuMemoryBytes > 0)) {
    throw new Error(`${ENV.GPU_MEMORY_BYTES} must be a positive number of bytes (got ${gpuMemoryText})`);
  }
  if (device !== 'auto' && device !== 'cuda' && device !== 'cpu') {
    throw new Error(`${ENV.EXECUTION_PROVIDER} must be auto, cuda or cpu (got ${device})`);
  }
  const samplesText = process.env[ENV.VALIDATION_SAMPLES];
  const sampleCount = samplesText ? Number(samplesText) : undefined;
  if (sampleCount !== undefined && !(Number.isInteger(sampleCount) && sampleCount >= 0))
    throw new Error(`${ENV.VALIDATION_SAMPLES} must be a whole number ≥ 0 (got ${samplesText})`);
  const ttlDays = Number(process.env[ENV.SAMPLE_TTL_DAYS] ?? DEFAULT_SAMPLE_TTL_DAYS);
  if (!Number.isFinite(ttlDays) || ttlDays <= 0)
    throw new Error(`${ENV.SAMPLE_TTL_DAYS} must be a positive number`);

  // A custom S3 endpoint (the embedded mode's s3rver) only answers path-style requests.
  const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) });
  const objects = new S3ObjectStore(s3, env.BUCKET);
  const documents = createDocumentClient();
  const jobs = new DynamoDbJobStore(documents, env.TABLE);
  const workDir = await mkdtemp(join(tmpdir(), 'plateau-job-'));
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  // SIGTERM: checkpoint the step in progress and exit 75 (retried) well inside Batch's 30 s before SIGKILL; an
  // attempt that cannot get there (a step or an upload too slow) exits 75 at the deadline, from its last checkpoint.
  const termination = watchTermination({
    target: process,
    log,
    onDeadline: () => {
      log(
        'termination deadline reached before a checkpoint: exiting; the next attempt resumes from the last one',
      );
      process.exit(TRANSIENT_EXIT_CODE);
    },
  });
  await markTrainerStarted(jobs, env.JOB_ID, new Date()).catch((error: unknown) =>
    log(`could not mark the job RUNNING: ${String(error)}`),
  );
  try {
    const result = await runTrainingJob({
      jobId: env.JOB_ID,
      objects,
      jobs,
      store: new S3ArtifactStore(objects, jobKeys(env.JOB_ID).root),
      sink: new DynamoDbSampleSink(documents, env.TABLE, env.JOB_ID, { ttlDays }),
      stopSignal: new DynamoDbStopSignal(documents, env.TABLE, env.JOB_ID),
      loadModel: (request) =>
        loadOnnxModel(request, { device, ...(gpuMemoryBytes === undefined ? {} : { gpuMemoryBytes }) }),
      modelCacheDir: process.env[ENV.MODEL_CACHE_DIR] ?? DEFAULT_MODEL_CACHE,
      workDir,
      renderSamples: renderOnnxSamples,
      ...(sampleCount === undefined ? {} : { sampleCount }),
      generateImages: generateOnnxImages,
      interrupted: termination.requested,
      onCheckpoint: async (step) => {
        await jobs.update(env.JOB_ID, {
          from: ['QUEUED', 'RUNNING', 'STOPPING'],
          patch: { lastCheckpointStep: step },
        });
      },
      log,
    });
    log(
      `job ${env.JOB_ID}: stopped after ${result.steps} steps (${result.stopReason}); wrote ${result.outputKey}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof TrainingInterrupted || termination.requested()) {
      // Not a failure of the job: the next attempt resumes from the checkpoint (Batch retries exit 75).
      log(
        `job ${env.JOB_ID}: ${error instanceof Error ? error.message : String(error)}; exiting for a retry`,
      );
      return TRANSIENT_EXIT_CODE;
    }
    // The reason (first line, and where) goes on the job record so the FAILED job says why, not Batch's
    // generic exit message.
    await recordTrainerError(jobs, env.JOB_ID, `trainer failed: ${summarizeError(error)}`).catch(
      (recordError: unknown) => log(`could not record the error on the job: ${String(recordError)}`),
    );
    throw error;
  } finally {
    termination.dispose();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // The whole stack for the log (on its own lines, as Node prints an uncaught error); the job record has the
    // one-line summary.
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`plateau trainer failed:\n${detail}\n`);
    // A temporary failure (S3 503, throttled sample writes) exits with the code Batch's retry strategy retries:
    // the next attempt resumes from the last checkpoint instead of the job failing.
    process.exitCode = isTransientError(error) ? TRANSIENT_EXIT_CODE : 1;
  },
);
