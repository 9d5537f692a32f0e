// finalize: the end of every job. Checks the artifacts, completes report.json and writes loss.svg, sets the
// final status (SUCCEEDED, CANCELLED or FAILED with a reason), then publishes the completion event and the
// optional webhook. Safe to repeat: the status update is guarded and the event goes out once it is recorded.
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
import { jobKeys } from '../../shared/keys.ts';
import { renderLossChart } from '../../shared/loss-chart.ts';
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
import { REPORT_VERSION, Report } from '../../shared/report.ts';
import { detLossHistory, type SampleReader } from '../../shared/samples.ts';
import { computeSavings, gpuCostUsd } from '../../shared/savings.ts';
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

/** Computes the outcome, writes report.json and loss.svg on success, and records the final status. */
async function settle(record: JobRecord, state: MonitorState, deps: FinalizeDeps): Promise<JobRecord> {
  const now = deps.clock.now();
  const keys = jobKeys(record.jobId);
  const batch = record.batchJobId ? await deps.batch.describe(record.batchJobId) : undefined;
  const samples = await deps.samples.read(record.jobId);
  const lastStep = samples.length ? samples[samples.length - 1]!.step : undefined;
  const gpuSeconds = batch ? gpuSecondsOf(batch) : 0;
  const criterionStep = record.criterionStep ?? state.decision?.criterionStep;
  const manifest = record.manifest;
  let failure: string | undefined;
  if (record.stopReason === 'cancelled' && lastStep === undefined && state.decision?.action !== 'failed') {
    // Cancelled before training began: nothing to report, and nothing may start any more.
    if (batch && record.batchJobId && BATCH_ACTIVE.has(batch.status))
      await deps.batch.terminate(record.batchJobId, 'plateau: cancelled').catch(() => undefined);
    return guardedFinal(
      record,
      'CANCELLED',
      { finishedAt: now.toISOString(), gpuSeconds, error: 'cancelled before the trainer started' },
      deps,
    );
  }
  if (state.decision?.action === 'failed')
    failure = state.decision.reason ?? 'the monitor reported a failure';
  else if (!manifest) failure = record.error ?? 'job has no valid manifest';
  else {
    // Every file of the job's method must be there: a LoRA job without its LoRA file is not a result.
    const missing: string[] = [];
    for (const key of keys.outputs(manifest.method, manifest.token)) {
      if (!(await deps.objects.head(key))) missing.push(key);
    }
    if (missing.length > 0) failure = `trainer exited without writing ${missing.join(', ')}`;
  }
  const common = {
    finishedAt: now.toISOString(),
    gpuSeconds,
    ...(lastStep === undefined ? {} : { lastStep }),
    ...(criterionStep === undefined ? {} : { criterionStep }),
  };
  if (failure !== undefined || !manifest) {
    if (batch && record.batchJobId && BATCH_ACTIVE.has(batch.status)) {
      await deps.batch
        .terminate(record.batchJobId, `plateau: ${failure}`.slice(0, 250))
        .catch(() => undefined);
    }
    const reason = failure ?? 'failed';
    return guardedFinal(record, 'FAILED', { ...common, error: reason, stopReason: 'failed' }, deps);
  }

  const stopReason: StopReason = record.stopReason ?? 'max-steps';
  const status: JobStatus = stopReason === 'cancelled' ? 'CANCELLED' : 'SUCCEEDED';
  const history = detLossHistory(samples).values;
  const steps = lastStep === undefined ? 0 : lastStep + 1;
  const latency =
    criterionStep !== undefined && lastStep !== undefined ? Math.max(0, lastStep - criterionStep) : null;
  const starts = batch?.attempts.map((a) => a.startedAtMs).filter((t) => t !== undefined) ?? [];
  const stops = batch?.attempts.map((a) => a.stoppedAtMs).filter((t) => t !== undefined) ?? [];
  const firstStart = starts.length ? Math.min(...starts) : batch?.startedAtMs;
  const lastStop = stops.length ? Math.max(...stops) : batch?.stoppedAtMs;
  const price = deps.gpuHourPriceUsd;
  const savings = computeSavings({
    stepsTrained: steps,
    budgetSteps: manifest.training.maxSteps,
    gpuSeconds,
    samples,
  });
  const chartKey = keys.lossChart;
  const samplesPrefix = keys.samplesPrefix;
  const sampleImages = (await deps.objects.list(samplesPrefix)).map((o) => o.key).sort();
  const trainerReport = await readTrainerReport(deps.objects, keys.report);
  const report: Report = Report.parse({
    ...trainerReport,
    version: REPORT_VERSION,
    jobId: record.jobId,
    status,
    method: manifest.method,
    token: manifest.token,
    baseModel: manifest.baseModel,
    stopReason,
    steps,
    lastStep: lastStep ?? null,
    criterionStep: criterionStep ?? null,
    stopLatencySteps: latency,
    stopLatencyFraction: latency !== null && criterionStep ? latency / criterionStep : null,
    maxSteps: manifest.training.maxSteps,
    dvar: { ...manifest.stop, finalRatio: dvarRatio(history, dvarParamsOf(manifest.stop).window) ?? null },
    timings: {
      createdAt: record.createdAt,
      trainerStartedAt: firstStart === undefined ? null : new Date(firstStart).toISOString(),
      finishedAt: now.toISOString(),
      wallSeconds:
        firstStart !== undefined && lastStop !== undefined ? Math.max(0, lastStop - firstStart) / 1000 : 0,
      gpuSeconds,
      pipelineSeconds: Math.max(0, now.getTime() - Date.parse(record.createdAt)) / 1000,
      attempts: batch?.attempts.length ?? record.attempts,
      // The trainer's class-image time (its partial report), apart from training.
      ...classImagesTiming(trainerReport),
    },
    savings,
    cost: {
      gpuHourPriceUsd: price,
      estimatedUsd: gpuCostUsd(savings.gpuSeconds, price),
      fullBudgetUsd: gpuCostUsd(savings.fullBudgetGpuSeconds, price),
      savedFraction: savings.savedFraction,
      note: `estimate: GPU-seconds × $${price}/GPU-hour; the bill depends on the instance, region and Spot price`,
    },
    artifacts: {
      embedding: keys.embedding(manifest.token),
      outputs: keys.outputs(manifest.method, manifest.token),
      lossChart: chartKey,
      samples: sampleImages,
    },
  });
  const encoder = new TextEncoder();
  await deps.objects.put(
    chartKey,
    encoder.encode(
      await renderLossChart({
        samples,
        window: dvarParamsOf(manifest.stop).window,
        threshold: manifest.stop.threshold,
        criterionStep,
        lastStep,
        title: `${manifest.token}: ${stopReason} after ${steps} steps`,
      }),
    ),
    'image/svg+xml',
  );
  await deps.objects.put(
    keys.report,
    encoder.encode(`${JSON.stringify(report, null, 2)}\n`),
    'application/json',
  );
  const artifacts = [
    ...keys.outputs(manifest.method, manifest.token),
    keys.report,
    chartKey,
    ...sampleImages,
  ];
  return guardedFinal(record, status, { ...common, stopReason, artifacts }, deps);
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

async function readTrainerReport(objects: ObjectStore, key: string): Promise<Record<string, unknown>> {
  const bytes = await objects.get(key);
  if (!bytes) return {};
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { ...parsed } : {};
  } catch {
    return {};
  }
}
