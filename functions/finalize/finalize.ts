// finalize: the end of every job. Checks the artifacts, completes report.json (step counts from the saved
// weights) and writes loss.svg, sets the final status (SUCCEEDED, CANCELLED or FAILED with a reason), then
// publishes the completion event and the optional webhook. Safe to repeat: the status update is guarded and the
// event goes out once it is recorded.
import { dvarParamsOf, dvarRatio } from '../../shared/dvar.ts';
import { JOB_FINISHED_DETAIL_TYPE, type JobFinishedDetail, webhookDeliveryId } from '../../shared/events.ts';
import {
  isFinal,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type StopReason,
  sourcesOf,
} from '../../shared/job-record.ts';
import { jsonObjectOf } from '../../shared/json-object.ts';
import { jobKeys } from '../../shared/keys.ts';
import { renderLossChart } from '../../shared/loss-chart.ts';
import type { JobManifest } from '../../shared/manifest.ts';
import { MonitorState } from '../../shared/monitor-contract.ts';
import type {
  BatchJobInfo,
  BatchJobs,
  Clock,
  EventPublisher,
  HttpPoster,
  ObjectStore,
  SecretSource,
} from '../../shared/pipeline-ports.ts';
import type { LossSample } from '../../shared/ports.ts';
import { REPORT_VERSION, Report } from '../../shared/report.ts';
import { readSafetensors } from '../../shared/safetensors.ts';
import { detLossHistory, type SampleReader } from '../../shared/samples.ts';
import { computeSavings, costEstimate } from '../../shared/savings.ts';
import { deliverWebhookOnce, type WebhookResult } from './webhook.ts';

export interface FinalizeDeps {
  readonly objects: ObjectStore;
  readonly jobs: JobStore;
  readonly samples: SampleReader;
  readonly batch: BatchJobs;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly gpuHourPriceUsd: number;
  /** Absent: webhooks are not delivered (they are never sent unsigned). */
  readonly webhook?: { readonly http: HttpPoster; readonly secret: SecretSource };
}

export interface FinalizeResult {
  readonly jobId: string;
  readonly status: JobStatus;
  readonly reason?: string;
  readonly published: boolean;
  readonly webhook?: WebhookResult | { readonly delivered: false; readonly error: string };
}

export function parseFinalizeInput(event: unknown): MonitorState {
  return MonitorState.parse(event);
}

const BATCH_ACTIVE = new Set(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING']);

export async function finalize(state: MonitorState, deps: FinalizeDeps): Promise<FinalizeResult> {
  const record = await deps.jobs.get(state.jobId);
  if (!record) throw new Error(`finalize: no job record for ${state.jobId}`);
  let final = record;
  if (!isFinal(record.status))
    final =
      state.finalizeError === undefined
        ? await settle(record, state, deps)
        : await guardedFinal(
            record,
            'FAILED',
            {
              finishedAt: deps.clock.now().toISOString(),
              stopReason: 'failed',
              error: `finalize failed: ${state.finalizeError}`.slice(0, 4000),
            },
            deps,
          );
  if (final.notifiedAt)
    return { jobId: final.jobId, status: final.status, published: false, reason: final.error };
  return notify(final, deps);
}

/** What settling a job rests on, read once: the Batch job, the samples of the steps trained, the step counts. */
interface JobFacts {
  readonly now: Date;
  readonly batch: BatchJobInfo | undefined;
  /** The samples of the steps the saved weights went through (a lost attempt's later ones dropped). */
  readonly samples: LossSample[];
  /** Steps trained, from the saved weights (token file, else the latest checkpoint), else the samples. */
  readonly steps: number | undefined;
  readonly gpuSeconds: number;
  readonly criterionStep: number | undefined;
  /**
   * The keys under the job's output/, listed once. Finalize reads an output only once it is listed: in AWS, a role
   * that may list only some prefixes of the bucket gets AccessDenied, not "no such key", for a missing key.
   */
  readonly outputs: ReadonlySet<string>;
}

/** Computes the outcome, writes report.json and loss.svg on success, and records the final status. */
async function settle(record: JobRecord, state: MonitorState, deps: FinalizeDeps): Promise<JobRecord> {
  const facts = await gatherFacts(record, state, deps);
  if (record.stopReason === 'cancelled' && facts.samples.length === 0 && state.decision?.action !== 'failed')
    return settleCancelledBeforeStart(record, facts, deps);
  const failure = failureOf(record, state, facts);
  if (failure !== undefined || !record.manifest)
    return settleFailed(record, facts, failure ?? 'failed', deps);
  return settleSucceeded(record, record.manifest, facts, deps);
}

async function gatherFacts(record: JobRecord, state: MonitorState, deps: FinalizeDeps): Promise<JobFacts> {
  const batch = record.batchJobId ? await deps.batch.describe(record.batchJobId) : undefined;
  const stored = await deps.samples.read(record.jobId);
  const outputs = new Set((await deps.objects.list(jobKeys(record.jobId).outputPrefix)).map((o) => o.key));
  const saved = await savedSteps(deps.objects, record, outputs);
  const steps = saved ?? (stored.length ? stored[stored.length - 1]!.step + 1 : undefined);
  return {
    now: deps.clock.now(),
    batch,
    samples: steps === undefined ? stored : stored.filter((sample) => sample.step < steps),
    steps,
    gpuSeconds: batch ? gpuSecondsOf(batch) : 0,
    criterionStep: record.criterionStep ?? state.decision?.criterionStep,
    outputs,
  };
}

/**
 * The steps the saved weights were trained for: `plateau.steps` in the token file's metadata, else the step of
 * the latest checkpoint; undefined when neither exists. Not the samples: those of a lost attempt may run past
 * what the run that continued trained.
 */
async function savedSteps(
  objects: ObjectStore,
  record: JobRecord,
  outputs: ReadonlySet<string>,
): Promise<number | undefined> {
  const keys = jobKeys(record.jobId);
  const token = record.manifest?.token;
  const key = token === undefined ? undefined : keys.embedding(token);
  const bytes = key !== undefined && outputs.has(key) ? await objects.get(key) : undefined;
  if (bytes) {
    try {
      const steps = Number(readSafetensors(bytes).metadata['plateau.steps']);
      if (Number.isInteger(steps) && steps >= 0) return steps;
    } catch {
      // Not a safetensors file with the fact: the checkpoints say it.
    }
  }
  const checkpointSteps = (await objects.list(keys.checkpointsPrefix)).flatMap((object) => {
    const match = /step-(\d+)\.(safetensors|json)$/.exec(object.key);
    return match ? [Number(match[1])] : [];
  });
  return checkpointSteps.length ? Math.max(...checkpointSteps) : undefined;
}

/** Why the job failed, or undefined when its outputs are all there. */
function failureOf(record: JobRecord, state: MonitorState, facts: JobFacts): string | undefined {
  if (state.decision?.action === 'failed') return state.decision.reason ?? 'the monitor reported a failure';
  const manifest = record.manifest;
  if (!manifest) return record.error ?? 'job has no valid manifest';
  // Every file of the job's method must be there: a LoRA job without its LoRA file is not a result.
  const missing = jobKeys(record.jobId)
    .outputs(manifest.method, manifest.token)
    .filter((key) => !facts.outputs.has(key));
  return missing.length > 0 ? `trainer exited without writing ${missing.join(', ')}` : undefined;
}

/** Terminates the Batch job if it is still queued or running (the job ends here whatever it does). */
async function terminateActive(record: JobRecord, facts: JobFacts, reason: string, deps: FinalizeDeps) {
  if (facts.batch && record.batchJobId && BATCH_ACTIVE.has(facts.batch.status))
    await deps.batch.terminate(record.batchJobId, reason.slice(0, 250)).catch(() => undefined);
}

/** Cancelled before training began: nothing to report, and nothing may start any more. */
async function settleCancelledBeforeStart(record: JobRecord, facts: JobFacts, deps: FinalizeDeps) {
  await terminateActive(record, facts, 'plateau: cancelled', deps);
  return guardedFinal(
    record,
    'CANCELLED',
    {
      finishedAt: facts.now.toISOString(),
      gpuSeconds: facts.gpuSeconds,
      error: 'cancelled before the trainer started',
    },
    deps,
  );
}

/** The fields every trained outcome records: when, the GPU time, the last step trained and the criterion step. */
function commonPatch(facts: JobFacts) {
  return {
    finishedAt: facts.now.toISOString(),
    gpuSeconds: facts.gpuSeconds,
    ...(facts.steps === undefined || facts.steps === 0 ? {} : { lastStep: facts.steps - 1 }),
    ...(facts.criterionStep === undefined ? {} : { criterionStep: facts.criterionStep }),
  };
}

async function settleFailed(record: JobRecord, facts: JobFacts, reason: string, deps: FinalizeDeps) {
  await terminateActive(record, facts, `plateau: ${reason}`, deps);
  return guardedFinal(record, 'FAILED', { ...commonPatch(facts), error: reason, stopReason: 'failed' }, deps);
}

/** SUCCEEDED (or CANCELLED with the last step's outputs): loss.svg, report.json, then the final status. */
async function settleSucceeded(
  record: JobRecord,
  manifest: JobManifest,
  facts: JobFacts,
  deps: FinalizeDeps,
): Promise<JobRecord> {
  const keys = jobKeys(record.jobId);
  const stopReason: StopReason = record.stopReason ?? 'max-steps';
  const status: JobStatus = stopReason === 'cancelled' ? 'CANCELLED' : 'SUCCEEDED';
  const sampleImages = [...facts.outputs].filter((key) => key.startsWith(keys.samplesPrefix)).sort();
  const report = buildReport(record, manifest, facts, {
    status,
    stopReason,
    sampleImages,
    trainerReport: await readTrainerReport(deps.objects, facts.outputs, keys.report),
    gpuHourPriceUsd: deps.gpuHourPriceUsd,
  });
  const lastStep = report.lastStep ?? undefined;
  const encoder = new TextEncoder();
  const chart = await renderLossChart({
    samples: facts.samples,
    window: dvarParamsOf(manifest.stop).window,
    threshold: manifest.stop.threshold,
    criterionStep: facts.criterionStep,
    lastStep,
    title: `${manifest.token}: ${stopReason} after ${report.steps} steps`,
  });
  await deps.objects.put(keys.lossChart, encoder.encode(chart), 'image/svg+xml');
  await deps.objects.put(
    keys.report,
    encoder.encode(`${JSON.stringify(report, null, 2)}\n`),
    'application/json',
  );
  const artifacts = [
    ...keys.outputs(manifest.method, manifest.token),
    keys.report,
    keys.lossChart,
    ...sampleImages,
  ];
  return guardedFinal(record, status, { ...commonPatch(facts), stopReason, artifacts }, deps);
}

/** report.json of a trained job (pure): the trainer's own fields, then the outcome, timings, savings and cost. */
function buildReport(
  record: JobRecord,
  manifest: JobManifest,
  facts: JobFacts,
  outcome: {
    readonly status: JobStatus;
    readonly stopReason: StopReason;
    readonly sampleImages: readonly string[];
    readonly trainerReport: Record<string, unknown>;
    readonly gpuHourPriceUsd: number;
  },
): Report {
  const keys = jobKeys(record.jobId);
  const { criterionStep, gpuSeconds, samples } = facts;
  const steps = facts.steps ?? 0;
  const lastStep = steps > 0 ? steps - 1 : undefined;
  const latency =
    criterionStep !== undefined && lastStep !== undefined ? Math.max(0, lastStep - criterionStep) : null;
  const price = outcome.gpuHourPriceUsd;
  const savings = computeSavings({
    stepsTrained: steps,
    budgetSteps: manifest.training.maxSteps,
    gpuSeconds,
    samples,
  });
  const history = detLossHistory(samples).values;
  return Report.parse({
    ...outcome.trainerReport,
    version: REPORT_VERSION,
    jobId: record.jobId,
    status: outcome.status,
    method: manifest.method,
    token: manifest.token,
    baseModel: manifest.baseModel,
    stopReason: outcome.stopReason,
    steps,
    lastStep: lastStep ?? null,
    criterionStep: criterionStep ?? null,
    stopLatencySteps: latency,
    stopLatencyFraction: latency !== null && criterionStep ? latency / criterionStep : null,
    maxSteps: manifest.training.maxSteps,
    dvar: { ...manifest.stop, finalRatio: dvarRatio(history, dvarParamsOf(manifest.stop).window) ?? null },
    timings: {
      ...timingsOf(record, facts),
      // The trainer's class-image time (its partial report), apart from training.
      ...classImagesTiming(outcome.trainerReport),
    },
    savings,
    cost: costEstimate(
      savings,
      price,
      `estimate: GPU-seconds × $${price}/GPU-hour; the bill depends on the instance, region and Spot price`,
    ),
    artifacts: {
      embedding: keys.embedding(manifest.token),
      outputs: keys.outputs(manifest.method, manifest.token),
      lossChart: keys.lossChart,
      samples: outcome.sampleImages,
    },
  });
}

/** The report's timings: from the first attempt's start to the last one's stop, and the pipeline's whole time. */
function timingsOf(record: JobRecord, facts: JobFacts) {
  const { batch, now } = facts;
  const starts = batch?.attempts.map((a) => a.startedAtMs).filter((t) => t !== undefined) ?? [];
  const stops = batch?.attempts.map((a) => a.stoppedAtMs).filter((t) => t !== undefined) ?? [];
  const firstStart = starts.length ? Math.min(...starts) : batch?.startedAtMs;
  const lastStop = stops.length ? Math.max(...stops) : batch?.stoppedAtMs;
  return {
    createdAt: record.createdAt,
    trainerStartedAt: firstStart === undefined ? null : new Date(firstStart).toISOString(),
    finishedAt: now.toISOString(),
    wallSeconds:
      firstStart !== undefined && lastStop !== undefined ? Math.max(0, lastStop - firstStart) / 1000 : 0,
    gpuSeconds: facts.gpuSeconds,
    pipelineSeconds: Math.max(0, now.getTime() - Date.parse(record.createdAt)) / 1000,
    attempts: batch?.attempts.length ?? record.attempts,
  };
}

async function guardedFinal(
  record: JobRecord,
  status: JobStatus,
  patch: Parameters<JobStore['update']>[1]['patch'],
  deps: FinalizeDeps,
): Promise<JobRecord> {
  const updated = await deps.jobs.update(record.jobId, { from: sourcesOf(status), to: status, patch });
  if (updated) return updated;
  // Someone else settled it first (a concurrent retry): report what they recorded.
  const current = await deps.jobs.get(record.jobId);
  if (!current) throw new Error(`finalize: job record ${record.jobId} vanished`);
  return current;
}

async function notify(record: JobRecord, deps: FinalizeDeps): Promise<FinalizeResult> {
  const detail: JobFinishedDetail = {
    jobId: record.jobId,
    status: record.status,
    ...(record.stopReason ? { stopReason: record.stopReason } : {}),
    ...(record.lastStep === undefined ? {} : { steps: record.lastStep + 1 }),
    ...(record.criterionStep === undefined ? {} : { criterionStep: record.criterionStep }),
    ...(record.status === 'FAILED' ? {} : { reportKey: jobKeys(record.jobId).report }),
    artifacts: record.artifacts ?? [],
    ...(record.error ? { error: record.error } : {}),
    finishedAt: record.finishedAt ?? deps.clock.now().toISOString(),
  };
  await deps.events.publish(JOB_FINISHED_DETAIL_TYPE, detail);
  let webhook: FinalizeResult['webhook'];
  const url = record.manifest?.notify.webhookUrl;
  if (url) {
    if (!deps.webhook) {
      webhook = { delivered: false, error: 'no webhook secret configured; webhooks are never sent unsigned' };
    } else {
      // The id is in the signed body and a header, and repeats on a retried finalize: receivers dedupe by it.
      const id = webhookDeliveryId(detail);
      const body = JSON.stringify({ type: JOB_FINISHED_DETAIL_TYPE, id, detail });
      webhook = await deliverWebhookOnce(
        record,
        { url, body, id, secret: await deps.webhook.secret.get() },
        { jobs: deps.jobs, http: deps.webhook.http, clock: deps.clock },
      );
    }
  }
  await deps.jobs.update(record.jobId, {
    from: [record.status],
    patch: { notifiedAt: deps.clock.now().toISOString() },
  });
  return {
    jobId: record.jobId,
    status: record.status,
    published: true,
    ...(record.error ? { reason: record.error } : {}),
    ...(webhook ? { webhook } : {}),
  };
}

/** Seconds the GPU ran: every attempt's start → stop (a Spot reclaim is paid for too). */
export function gpuSecondsOf(batch: BatchJobInfo): number {
  let ms = 0;
  for (const attempt of batch.attempts) {
    if (attempt.startedAtMs !== undefined && attempt.stoppedAtMs !== undefined) {
      ms += Math.max(0, attempt.stoppedAtMs - attempt.startedAtMs);
    }
  }
  if (ms === 0 && batch.startedAtMs !== undefined && batch.stoppedAtMs !== undefined) {
    ms = Math.max(0, batch.stoppedAtMs - batch.startedAtMs);
  }
  return ms / 1000;
}

/** `classImagesSeconds` from the trainer's `classImages.seconds`, when it wrote one. */
function classImagesTiming(trainerReport: Record<string, unknown>): { classImagesSeconds?: number } {
  const seconds = (trainerReport.classImages as { seconds?: unknown } | undefined)?.seconds;
  return typeof seconds === 'number' && seconds >= 0 ? { classImagesSeconds: seconds } : {};
}

async function readTrainerReport(
  objects: ObjectStore,
  outputs: ReadonlySet<string>,
  key: string,
): Promise<Record<string, unknown>> {
  if (!outputs.has(key)) return {};
  return jsonObjectOf(await objects.get(key));
}
