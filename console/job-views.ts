// What the console's pages show, read from the stack's own stores: the bucket's job manifests, the job records
// and loss samples (summed up by shared/job-summary.ts, as `plateau status` does), the report and the outputs.
// Nothing is kept but a cache of jobs that have ended (final records never change).
import { dvarParamsOf } from '../shared/dvar.ts';
import { isFinal, type JobRecord } from '../shared/job-record.ts';
import { summarize } from '../shared/job-summary.ts';
import { JOBS_PREFIX, jobIdFromManifestKey, jobKeys, methodOutputNames } from '../shared/keys.ts';
import { lossChartSpec } from '../shared/loss-chart.ts';
import type { LossSample } from '../shared/ports.ts';
import { Report } from '../shared/report.ts';
import type { JobDetail, JobRow, OutputFile, SampleImage } from './api-types.ts';
import type { ConsoleStores } from './console-stores.ts';

async function readJson(stores: ConsoleStores, key: string): Promise<unknown> {
  const bytes = await stores.objects.get(key);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

async function readReport(stores: ConsoleStores, jobId: string): Promise<Report | undefined> {
  const parsed = Report.safeParse(await readJson(stores, jobKeys(jobId).report));
  return parsed.success ? parsed.data : undefined;
}

function row(jobId: string, record: JobRecord, samples: readonly LossSample[], report?: Report): JobRow {
  const manifest = record.manifest;
  return {
    jobId,
    status: record.status,
    summary: summarize(record, samples),
    createdAt: record.createdAt,
    ...(manifest
      ? {
          token: manifest.token,
          method: manifest.method,
          baseModel: manifest.baseModel,
          maxSteps: manifest.training.maxSteps,
        }
      : {}),
    // A saving only where DVAR stopped the run: a cancel or a crash saves nothing that was asked for.
    ...(report?.stopReason === 'criterion' ? { budgetSaved: 1 - report.steps / report.maxSteps } : {}),
  };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The report's savings in one sentence (steps always; money when the stack prices GPU time). */
export function savingsLine(report: Report): string {
  const { steps, maxSteps, criterionStep, lastStep, stopLatencySteps } = report;
  const saved = `${Math.round((1 - steps / maxSteps) * 100)}% of the fixed budget saved`;
  const money =
    report.cost.fullBudgetUsd > 0
      ? ` — $${report.cost.estimatedUsd.toFixed(2)} instead of $${report.cost.fullBudgetUsd.toFixed(2)}`
      : '';
  switch (report.stopReason) {
    case 'criterion':
      return (
        `DVAR held at step ${criterionStep} and training stopped at step ${lastStep}` +
        ` (${plural(stopLatencySteps ?? 0, 'step')} later): ${steps} of ${maxSteps} steps, ${saved}${money}.`
      );
    case 'max-steps':
      return `DVAR never held: trained the whole budget of ${maxSteps} steps${money}.`;
    case 'cancelled':
      return `Cancelled after ${steps} of ${maxSteps} steps${money}.`;
    default:
      return `Failed after ${steps} of ${maxSteps} steps.`;
  }
}

/** Lists the jobs of the bucket, newest first. */
export class JobViews {
  readonly #stores: ConsoleStores;
  readonly #ended = new Map<string, JobRow>();

  constructor(stores: ConsoleStores) {
    this.#stores = stores;
  }

  async list(): Promise<JobRow[]> {
    const ids = new Set<string>();
    for (const object of await this.#stores.objects.list(JOBS_PREFIX)) {
      const jobId = jobIdFromManifestKey(object.key);
      if (jobId) ids.add(jobId);
    }
    const rows = await Promise.all([...ids].map((jobId) => this.#row(jobId)));
    return rows.sort((a, b) => (b.createdAt ?? '\uffff').localeCompare(a.createdAt ?? '\uffff'));
  }

  async #row(jobId: string): Promise<JobRow> {
    const cached = this.#ended.get(jobId);
    if (cached) return cached;
    const record = await this.#stores.jobs.get(jobId);
    if (!record) return { jobId, status: 'UPLOADED' };
    const samples = await this.#stores.samples.read(jobId);
    if (!isFinal(record.status)) return row(jobId, record, samples);
    const ended = row(jobId, record, samples, await readReport(this.#stores, jobId));
    // Finalize writes the report before the final status, so an ended job's row is complete: keep it.
    this.#ended.set(jobId, ended);
    return ended;
  }

  /** Everything the job page shows; undefined when the bucket has no such job. */
  async detail(jobId: string): Promise<JobDetail | undefined> {
    const keys = jobKeys(jobId);
    const record = await this.#stores.jobs.get(jobId);
    if (!record) {
      if (!(await this.#stores.objects.head(keys.manifest))) return undefined;
      return { row: { jobId, status: 'UPLOADED' }, files: [], samples: [], points: 0 };
    }
    const samples = await this.#stores.samples.read(jobId);
    const report = isFinal(record.status) ? await readReport(this.#stores, jobId) : undefined;
    const manifest = record.manifest;
    const models = manifest ? methodOutputNames(manifest.method, manifest.token) : [];
    const files: OutputFile[] = (await this.#stores.objects.list(keys.outputPrefix))
      .map((o) => {
        const name = o.key.slice(keys.outputPrefix.length);
        return { name, size: o.size, kind: models.includes(name) ? ('model' as const) : ('other' as const) };
      })
      .sort((a, b) => Number(a.kind !== 'model') - Number(b.kind !== 'model'));
    const prompts = await this.#prompts(jobId, files);
    const final = isFinal(record.status);
    const steps = record.lastStep === undefined ? samples.length : record.lastStep + 1;
    return {
      row: row(jobId, record, samples, report),
      ...(manifest ? { manifest } : {}),
      ...(report ? { report, savings: savingsLine(report) } : {}),
      files,
      samples: prompts.samples,
      ...(prompts.seed === undefined ? {} : { sampleSeed: prompts.seed }),
      // Also for criterion none (the fixed-budget baseline): the ratio shows where DVAR would have stopped.
      ...(manifest
        ? {
            chart: lossChartSpec({
              samples,
              window: dvarParamsOf(manifest.stop).window,
              threshold: manifest.stop.threshold,
              ...(record.criterionStep === undefined ? {} : { criterionStep: record.criterionStep }),
              ...(final && record.lastStep !== undefined ? { lastStep: record.lastStep } : {}),
              title: final
                ? `${manifest.token}: ${record.stopReason ?? record.status.toLowerCase()} after ${steps} steps`
                : `${manifest.token}: training`,
            }),
          }
        : {}),
      points: samples.filter((s) => s.detLoss !== undefined).length,
    };
  }

  /** The validation images with their prompts (output/samples/prompts.json, written by the trainer). */
  async #prompts(
    jobId: string,
    files: readonly OutputFile[],
  ): Promise<{ samples: SampleImage[]; seed?: number }> {
    if (!files.some((f) => f.name === 'samples/prompts.json')) return { samples: [] };
    const meta = (await readJson(this.#stores, `${jobKeys(jobId).samplesPrefix}prompts.json`)) as
      | { seed?: unknown; images?: unknown }
      | undefined;
    const images = Array.isArray(meta?.images) ? (meta.images as unknown[]) : [];
    const has = (file: string) => files.some((f) => f.name === `samples/${file}`);
    const samples = images.flatMap((item): SampleImage[] => {
      const { file, prompt, initializerFile, initializerPrompt } = (item ?? {}) as Record<string, unknown>;
      if (typeof file !== 'string' || typeof prompt !== 'string' || !has(file)) return [];
      const before =
        typeof initializerFile === 'string' && typeof initializerPrompt === 'string' && has(initializerFile)
          ? { before: { file: `samples/${initializerFile}`, prompt: initializerPrompt } }
          : {};
      return [{ file: `samples/${file}`, prompt, ...before }];
    });
    return { samples, ...(typeof meta?.seed === 'number' ? { seed: meta.seed } : {}) };
  }
}
