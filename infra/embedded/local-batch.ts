// The embedded runtime's AWS Batch: the BatchJobs port (shared/pipeline-ports.ts) over child processes. Each
// submitted job waits RUNNABLE in a FIFO queue until one of `maxTrainers` slots is free (Batch's maxvCpus), then
// spawns the trainer with the job definition's environment merged with the per-job one, as Batch does; statuses,
// attempts and TerminateJob (SIGTERM, SIGKILL 30 s later) follow Batch's meaning. reclaim() ends an attempt the
// way a Spot reclaim does and queues the next one, which the job definition's retry strategy would do. Unlike
// Batch, a failed attempt's reason also carries the error the trainer printed (a trainer that cannot start
// never reaches its own job-record update).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { errorFromOutput } from '../../shared/failure-summary.ts';
import type {
  BatchJobInfo,
  BatchJobs,
  BatchStatus,
  BatchSubmitRequest,
} from '../../shared/pipeline-ports.ts';
import { TRANSIENT_EXIT_CODE } from '../../shared/transient-error.ts';

/** How much of an attempt's stderr is kept to find the error it died with. */
const STDERR_TAIL_CHARS = 16_384;
/** Batch sends SIGKILL this long after the SIGTERM of a TerminateJob, a timeout or a reclaim. */
export const STOP_GRACE_MS = 30_000;
/** Memory one CPU trainer may take at its peak (model, training graph, gradients) when sizing the default cap. */
export const TRAINER_MEMORY_BYTES = 2 * 1024 ** 3;

/**
 * How many trainers this machine runs at once by default: one per core (each trainer's onnxruntime uses the
 * cores it gets), and no more than three quarters of the memory holds at TRAINER_MEMORY_BYTES each; at least one.
 */
export function defaultMaxTrainers(
  machine: { readonly cores: number; readonly memoryBytes: number } = {
    cores: cpus().length,
    memoryBytes: totalmem(),
  },
): number {
  const byMemory = Math.floor((0.75 * machine.memoryBytes) / TRAINER_MEMORY_BYTES);
  return Math.max(1, Math.min(machine.cores, byMemory));
}

/** Parses a configured cap (a flag or ENV.LOCAL_MAX_TRAINERS): a positive integer; absent or empty = default. */
export function parseMaxTrainers(value: string | undefined, what: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer (got '${value}')`);
  return n;
}

/** A job waiting for a trainer slot, in queue order (position = index + 1). */
export interface QueuedJob {
  readonly batchJobId: string;
  readonly jobName: string;
  readonly environment: Readonly<Record<string, string>>;
}

export interface LocalBatchOptions {
  /** The trainer command line, e.g. [process.execPath, 'trainer-image/src/main.ts']. */
  readonly command: readonly string[];
  /** Working directory of the trainer (the repository root). */
  readonly cwd: string;
  /** What the job definition sets (ENV names from shared/env.ts, endpoints, credentials). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Attempts per job, counting reclaims (the job definition's retryAttempts).
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Trainers alive at once; more jobs wait RUNNABLE in submission order (a retried attempt keeps its job's place).
   * @default defaultMaxTrainers()
   */
  readonly maxTrainers?: number;
  /** SIGTERM → SIGKILL grace of terminate() and a graceful reclaim(). @default STOP_GRACE_MS */
  readonly stopGraceMs?: number;
  /** Receives the trainer's stdout and stderr. */
  readonly onOutput?: (batchJobId: string, chunk: string) => void;
  /** Called with the whole queue whenever it changes (a job joins, starts or leaves it). */
  readonly onQueueChange?: (queued: readonly QueuedJob[]) => void;
}

interface Attempt {
  startedAtMs?: number;
  stoppedAtMs?: number;
  exitCode?: number;
}

interface LocalJob {
  readonly batchJobId: string;
  /** Submission order: the queue is kept sorted by it. */
  readonly order: number;
  readonly name: string;
  readonly environment: Readonly<Record<string, string>>;
  status: BatchStatus;
  statusReason?: string;
  readonly attempts: Attempt[];
  child?: ChildProcess;
  /** The running attempt's last STDERR_TAIL_CHARS of stderr. */
  stderrTail: string;
  /** Set when the next exit is a simulated Spot reclaim (retried) rather than the trainer's own. */
  reclaiming?: boolean;
  terminateReason?: string;
  /** The SIGKILL that follows a SIGTERM after the grace period, while it is pending. */
  killTimer?: NodeJS.Timeout;
  readonly settled: Promise<void>;
  settle(): void;
}

export class LocalBatchJobs implements BatchJobs {
  readonly #options: LocalBatchOptions;
  readonly #jobs = new Map<string, LocalJob>();
  /** RUNNABLE jobs waiting for a slot, in submission order. */
  readonly #queue: LocalJob[] = [];
  /** Jobs whose trainer process is alive. */
  readonly #running = new Set<LocalJob>();
  #submitted = 0;
  #closing = false;
  /** Trainers alive at once (the cap). */
  readonly maxTrainers: number;
  /** The most trainers that were ever alive at once (the soak bench checks it against the cap). */
  peakTrainers = 0;

  constructor(options: LocalBatchOptions) {
    this.#options = options;
    this.maxTrainers = options.maxTrainers ?? defaultMaxTrainers();
    if (!Number.isInteger(this.maxTrainers) || this.maxTrainers < 1)
      throw new Error(`maxTrainers must be a positive integer (got ${this.maxTrainers})`);
  }

  /** The jobs waiting for a slot, first first. */
  queued(): QueuedJob[] {
    return this.#queue.map((job) => ({
      batchJobId: job.batchJobId,
      jobName: job.name,
      environment: job.environment,
    }));
  }

  async submit(request: BatchSubmitRequest): Promise<{ readonly batchJobId: string }> {
    const batchJobId = randomUUID();
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const job: LocalJob = {
      batchJobId,
      order: this.#submitted++,
      name: request.jobName,
      environment: { ...this.#options.environment, ...request.environment },
      status: 'SUBMITTED',
      attempts: [],
      stderrTail: '',
      settled,
      settle,
    };
    this.#jobs.set(batchJobId, job);
    // Batch schedules asynchronously: the job is SUBMITTED when SubmitJob returns, RUNNABLE once queued.
    setImmediate(() => this.#enqueue(job));
    return { batchJobId };
  }

  async describe(batchJobId: string): Promise<BatchJobInfo | undefined> {
    const job = this.#jobs.get(batchJobId);
    if (!job) return undefined;
    const attempts = job.attempts.map((a) => ({ ...a }));
    const first = attempts.find((a) => a.startedAtMs !== undefined);
    const last = attempts[attempts.length - 1];
    return {
      batchJobId,
      status: job.status,
      ...(job.statusReason ? { statusReason: job.statusReason } : {}),
      attempts,
      ...(first?.startedAtMs !== undefined ? { startedAtMs: first.startedAtMs } : {}),
      ...(isDone(job.status) && last?.stoppedAtMs !== undefined ? { stoppedAtMs: last.stoppedAtMs } : {}),
    };
  }

  async terminate(batchJobId: string, reason: string): Promise<void> {
    const job = this.#jobs.get(batchJobId);
    if (!job || isDone(job.status)) return;
    job.terminateReason = reason;
    if (job.child) this.#stop(job, this.#options.stopGraceMs ?? STOP_GRACE_MS);
    else {
      this.#dequeue(job);
      this.#finish(job, 'FAILED', reason);
    }
  }

  /**
   * Ends the running attempt like a Spot reclaim ("Host EC2 … terminated") and queues the next one. `graceMs`
   * absent: SIGKILL at once (the instance is gone); given: SIGTERM first and SIGKILL after that long, as ECS
   * stops a task on an instance being reclaimed (the trainer checkpoints in between).
   */
  reclaim(batchJobId: string, graceMs?: number): void {
    const job = this.#jobs.get(batchJobId);
    if (!job?.child) throw new Error(`job ${batchJobId} has no running attempt`);
    job.reclaiming = true;
    if (graceMs === undefined) job.child.kill('SIGKILL');
    else this.#stop(job, graceMs);
  }

  /** SIGTERM now, SIGKILL after `graceMs` if the attempt is still alive. */
  #stop(job: LocalJob, graceMs: number): void {
    const child = job.child;
    if (!child) return;
    child.kill('SIGTERM');
    clearTimeout(job.killTimer);
    job.killTimer = setTimeout(() => {
      if (job.child === child) child.kill('SIGKILL');
    }, graceMs);
    job.killTimer.unref();
  }

  /** Resolves when the job has SUCCEEDED or FAILED. */
  async waitFor(batchJobId: string): Promise<BatchJobInfo | undefined> {
    await this.#jobs.get(batchJobId)?.settled;
    return this.describe(batchJobId);
  }

  /** Terminates every job still queued or running and waits for the processes to exit. */
  async close(): Promise<void> {
    this.#closing = true;
    const active = [...this.#jobs.values()].filter((job) => !isDone(job.status));
    await Promise.all(active.map((job) => this.terminate(job.batchJobId, 'embedded runtime shutting down')));
    await Promise.all(active.map((job) => job.settled));
  }

  /** RUNNABLE in the queue at the job's submission place; starts what the free slots allow. */
  #enqueue(job: LocalJob): void {
    if (isDone(job.status)) return;
    if (job.terminateReason !== undefined) {
      this.#finish(job, 'FAILED', job.terminateReason);
      return;
    }
    job.status = 'RUNNABLE';
    const at = this.#queue.findIndex((queued) => queued.order > job.order);
    this.#queue.splice(at === -1 ? this.#queue.length : at, 0, job);
    this.#schedule();
  }

  #dequeue(job: LocalJob): void {
    const at = this.#queue.indexOf(job);
    if (at === -1) return;
    this.#queue.splice(at, 1);
    this.#options.onQueueChange?.(this.queued());
  }

  /** Starts queued jobs while slots are free, then reports the queue. */
  #schedule(): void {
    while (!this.#closing && this.#running.size < this.maxTrainers) {
      const next = this.#queue.shift();
      if (!next) break;
      this.#startAttempt(next);
    }
    this.#options.onQueueChange?.(this.queued());
  }

  /** A slot is free again: the next queued job may start. */
  #release(job: LocalJob): void {
    clearTimeout(job.killTimer);
    job.killTimer = undefined;
    if (this.#running.delete(job)) setImmediate(() => this.#schedule());
  }

  #startAttempt(job: LocalJob): void {
    if (isDone(job.status)) return;
    if (job.terminateReason !== undefined) {
      this.#finish(job, 'FAILED', job.terminateReason);
      return;
    }
    this.#running.add(job);
    this.peakTrainers = Math.max(this.peakTrainers, this.#running.size);
    const attempt: Attempt = { startedAtMs: Date.now() };
    job.attempts.push(attempt);
    const [file, ...args] = this.#options.command;
    if (file === undefined) throw new Error('LocalBatchJobs: empty trainer command');
    const child = spawn(file, args, {
      cwd: this.#options.cwd,
      env: { ...process.env, ...job.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    job.child = child;
    job.status = 'RUNNING';
    job.stderrTail = '';
    const forward = (chunk: Buffer) => this.#options.onOutput?.(job.batchJobId, chunk.toString('utf8'));
    child.stdout?.on('data', forward);
    child.stderr?.on('data', (chunk: Buffer) => {
      job.stderrTail = (job.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
      forward(chunk);
    });
    child.on('error', (error) => {
      attempt.stoppedAtMs = Date.now();
      job.child = undefined;
      this.#release(job);
      this.#finish(job, 'FAILED', `could not start the trainer: ${error.message}`);
    });
    // 'close', not 'exit': the stderr tail must be complete before the reason is read from it.
    child.on('close', (code, signal) => {
      if (isDone(job.status)) return; // already failed to spawn ('error' above)
      attempt.stoppedAtMs = Date.now();
      attempt.exitCode = code ?? 137;
      job.child = undefined;
      this.#release(job);
      // The job definition's retry strategy: a Spot reclaim, or the trainer's temporary-failure exit code. A trainer
      // that finished (exit 0) within a reclaim's grace period has SUCCEEDED, as on Batch.
      const reclaimedEarly = job.reclaiming === true && code !== 0;
      if (reclaimedEarly || (code === TRANSIENT_EXIT_CODE && job.terminateReason === undefined)) {
        job.reclaiming = false;
        if (job.attempts.length < (this.#options.retryAttempts ?? 5) && !this.#closing) {
          job.status = 'RUNNABLE';
          setImmediate(() => this.#enqueue(job));
          return;
        }
        if (reclaimedEarly) return this.#finish(job, 'FAILED', 'Host EC2 (instance i-local) terminated.');
      }
      if (job.terminateReason !== undefined) return this.#finish(job, 'FAILED', job.terminateReason);
      if (code === 0) return this.#finish(job, 'SUCCEEDED');
      const printed = errorFromOutput(job.stderrTail, this.#options.cwd);
      const exited = `Essential container in task exited (${signal ?? `exit code ${code}`})`;
      this.#finish(job, 'FAILED', printed ? `${exited}: ${printed}` : exited);
    });
  }

  #finish(job: LocalJob, status: 'SUCCEEDED' | 'FAILED', reason?: string): void {
    job.status = status;
    if (reason !== undefined) job.statusReason = reason;
    job.settle();
  }
}

function isDone(status: BatchStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}
