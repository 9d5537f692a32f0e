// The embedded runtime's AWS Batch: the BatchJobs port (shared/pipeline-ports.ts) over child processes. Each
// submitted job spawns the trainer with the job definition's environment merged with the per-job one, as
// Batch does; statuses, attempts and TerminateJob follow Batch's meaning. reclaim() kills an attempt the way
// a Spot reclaim does and starts the next one, which the job definition's retry strategy would do. Unlike
// Batch, a failed attempt's reason also carries the error the trainer printed (a trainer that cannot start
// never reaches its own job-record update).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
  /** Receives the trainer's stdout and stderr. */
  readonly onOutput?: (batchJobId: string, chunk: string) => void;
}

interface Attempt {
  startedAtMs?: number;
  stoppedAtMs?: number;
  exitCode?: number;
}

interface LocalJob {
  readonly batchJobId: string;
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
  readonly settled: Promise<void>;
  settle(): void;
}

export class LocalBatchJobs implements BatchJobs {
  readonly #options: LocalBatchOptions;
  readonly #jobs = new Map<string, LocalJob>();

  constructor(options: LocalBatchOptions) {
    this.#options = options;
  }

  async submit(request: BatchSubmitRequest): Promise<{ readonly batchJobId: string }> {
    const batchJobId = randomUUID();
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const job: LocalJob = {
      batchJobId,
      name: request.jobName,
      environment: { ...this.#options.environment, ...request.environment },
      status: 'SUBMITTED',
      attempts: [],
      stderrTail: '',
      settled,
      settle,
    };
    this.#jobs.set(batchJobId, job);
    // Batch schedules asynchronously: the job is SUBMITTED when SubmitJob returns.
    setImmediate(() => this.#startAttempt(job));
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
    if (job.child) job.child.kill('SIGTERM');
    else this.#finish(job, 'FAILED', reason);
  }

  /** Kills the running attempt like a Spot reclaim ("Host EC2 … terminated"); the next attempt starts. */
  reclaim(batchJobId: string): void {
    const job = this.#jobs.get(batchJobId);
    if (!job?.child) throw new Error(`job ${batchJobId} has no running attempt`);
    job.reclaiming = true;
    job.child.kill('SIGKILL');
  }

  /** Resolves when the job has SUCCEEDED or FAILED. */
  async waitFor(batchJobId: string): Promise<BatchJobInfo | undefined> {
    await this.#jobs.get(batchJobId)?.settled;
    return this.describe(batchJobId);
  }

  /** Terminates every job still running and waits for the processes to exit. */
  async close(): Promise<void> {
    const active = [...this.#jobs.values()].filter((job) => !isDone(job.status));
    await Promise.all(active.map((job) => this.terminate(job.batchJobId, 'embedded runtime shutting down')));
    await Promise.all(active.map((job) => job.settled));
  }

  #startAttempt(job: LocalJob): void {
    if (isDone(job.status)) return;
    if (job.terminateReason !== undefined) {
      this.#finish(job, 'FAILED', job.terminateReason);
      return;
    }
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
      this.#finish(job, 'FAILED', `could not start the trainer: ${error.message}`);
    });
    // 'close', not 'exit': the stderr tail must be complete before the reason is read from it.
    child.on('close', (code, signal) => {
      if (isDone(job.status)) return; // already failed to spawn ('error' above)
      attempt.stoppedAtMs = Date.now();
      attempt.exitCode = code ?? 137;
      job.child = undefined;
      // The job definition's retry strategy: a Spot reclaim, or the trainer's temporary-failure exit code.
      if (job.reclaiming || (code === TRANSIENT_EXIT_CODE && job.terminateReason === undefined)) {
        const reclaimed = job.reclaiming === true;
        job.reclaiming = false;
        if (job.attempts.length < (this.#options.retryAttempts ?? 5)) {
          job.status = 'RUNNABLE';
          setImmediate(() => this.#startAttempt(job));
          return;
        }
        if (reclaimed) return this.#finish(job, 'FAILED', 'Host EC2 (instance i-local) terminated.');
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
