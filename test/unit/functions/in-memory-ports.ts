// In-memory implementations of the pipeline ports for the functions' unit tests. The JobStore applies the
// same guarded-update semantics as the DynamoDB adapter (shared conditionHolds/applyUpdate).
import {
  applyUpdate,
  conditionHolds,
  type JobChange,
  JobRecord,
  type JobStore,
} from '../../../shared/job-record.ts';
import type {
  BatchJobInfo,
  BatchJobs,
  BatchSubmitRequest,
  Clock,
  EventPublisher,
  HttpPoster,
  MonitorStarter,
  ObjectInfo,
  ObjectStore,
} from '../../../shared/pipeline-ports.ts';
import type { LossSample } from '../../../shared/ports.ts';
import { normalizeSamples, type SampleReader } from '../../../shared/samples.ts';

export class MemoryJobStore implements JobStore {
  readonly records = new Map<string, JobRecord>();
  readonly clock: Clock;
  constructor(clock: Clock) {
    this.clock = clock;
  }
  async get(jobId: string) {
    return this.records.get(jobId);
  }
  async create(record: JobRecord) {
    if (this.records.has(record.jobId)) return false;
    this.records.set(record.jobId, JobRecord.parse(record));
    return true;
  }
  async update(jobId: string, change: JobChange) {
    const record = this.records.get(jobId);
    if (!record || !change.from.includes(record.status) || !conditionHolds(record, change.when))
      return undefined;
    const updated = applyUpdate(record, change.to, change.patch ?? {}, this.clock.now(), change.clear);
    this.records.set(jobId, updated);
    return updated;
  }
}

export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Uint8Array; contentType?: string }>();
  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, { body }]) => ({ key, size: body.byteLength }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  async get(key: string, range?: { start: number; end: number }) {
    const body = this.objects.get(key)?.body;
    return body && range ? body.slice(range.start, range.end + 1) : body;
  }
  async head(key: string) {
    const body = this.objects.get(key)?.body;
    return body ? { key, size: body.byteLength } : undefined;
  }
  async put(key: string, body: Uint8Array, contentType?: string) {
    this.objects.set(key, { body, contentType });
  }
  text(key: string): string | undefined {
    const body = this.objects.get(key)?.body;
    return body ? new TextDecoder().decode(body) : undefined;
  }
}

/** The fake Batch (its API is unreachable here): records calls, jobs' states are set by the test. */
export class FakeBatch implements BatchJobs {
  readonly submitted: BatchSubmitRequest[] = [];
  readonly terminated: { batchJobId: string; reason: string }[] = [];
  readonly jobs = new Map<string, BatchJobInfo>();
  failSubmit: Error | undefined;
  async submit(request: BatchSubmitRequest) {
    if (this.failSubmit) throw this.failSubmit;
    this.submitted.push(request);
    const batchJobId = `batch-${this.submitted.length}`;
    this.jobs.set(batchJobId, { batchJobId, status: 'SUBMITTED', attempts: [] });
    return { batchJobId };
  }
  async describe(batchJobId: string) {
    return this.jobs.get(batchJobId);
  }
  async terminate(batchJobId: string, reason: string) {
    this.terminated.push({ batchJobId, reason });
  }
  set(batchJobId: string, info: Omit<BatchJobInfo, 'batchJobId'>) {
    this.jobs.set(batchJobId, { batchJobId, ...info });
  }
}

export class MemoryMonitor implements MonitorStarter {
  readonly started = new Map<string, unknown>();
  failStart: Error | undefined;
  async start(name: string, input: unknown) {
    if (this.failStart) throw this.failStart;
    const executionArn = `arn:aws:states:us-east-1:123456789012:execution:monitor:${name}`;
    if (this.started.has(name)) return { executionArn, alreadyStarted: true };
    this.started.set(name, input);
    return { executionArn, alreadyStarted: false };
  }
}

export class MemorySamples implements SampleReader {
  readonly byJob = new Map<string, LossSample[]>();
  async read(jobId: string) {
    return normalizeSamples(this.byJob.get(jobId) ?? []);
  }
}

export class MemoryEvents implements EventPublisher {
  readonly published: { detailType: string; detail: unknown }[] = [];
  async publish(detailType: string, detail: unknown) {
    this.published.push({ detailType, detail });
  }
}

export class ScriptedPoster implements HttpPoster {
  readonly calls: { url: string; body: string; headers: Readonly<Record<string, string>> }[] = [];
  readonly responses: (number | Error)[];
  constructor(responses: (number | Error)[]) {
    this.responses = responses;
  }
  async post(url: string, body: string, headers: Readonly<Record<string, string>>) {
    this.calls.push({ url, body, headers });
    const next = this.responses.shift() ?? 200;
    if (next instanceof Error) throw next;
    return next;
  }
}

/** A clock the test moves; sleeping advances it instantly. */
export class ManualClock implements Clock {
  ms: number;
  readonly sleeps: number[] = [];
  constructor(iso = '2026-01-01T00:00:00.000Z') {
    this.ms = Date.parse(iso);
  }
  now() {
    return new Date(this.ms);
  }
  async sleep(ms: number) {
    this.sleeps.push(ms);
    this.ms += ms;
  }
}

const base64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
/** Whole 2×2 images (made with sharp) that pass submit's header checks: PNG, baseline JPEG, lossy and lossless WebP. */
export const PNG_BYTES = base64(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAFElEQVQImWP4z8DAAMIM/////w8AH+4F+0HwQUsAAAAASUVORK5CYII=',
);
export const JPEG_BYTES = base64(
  '/9j/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAACAAIDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAf/xAAcEAADAAIDAQAAAAAAAAAAAAABAgMABQQGByH/xAAUAQEAAAAAAAAAAAAAAAAAAAAG/8QAGhEAAAcAAAAAAAAAAAAAAAAAAAECBDNxsf/aAAwDAQACEQMRAD8Auvm+n1l/O+rWvruHStNVxXd3gpZmMVJJJH0nGMYVcSrs9Ap3Ouz0f//Z',
);
export const WEBP_BYTES = base64(
  'UklGRjoAAABXRUJQVlA4IC4AAACQAQCdASoCAAIAAUAmJaQAAudZtgAA/vZ//5wOIS38q//7Rj88te91eiYeAAAA',
);
export const WEBP_LOSSLESS_BYTES = base64(
  'UklGRiwAAABXRUJQVlA4TB8AAAAvAUAAAB8gEEjeHzqN+RcQFPwf3fxHZA/gBgwR/Q8BAA==',
);
