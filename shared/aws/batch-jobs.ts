// BatchJobs on AWS Batch: SubmitJob with the per-job environment as container overrides, DescribeJobs reduced
// to what the monitor needs (status, reason, attempt times), TerminateJob, and ListJobs by name for orphans.
import {
  type BatchClient,
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';
import {
  BATCH_STATUSES,
  type BatchJobInfo,
  type BatchJobs,
  type BatchStatus,
  type BatchSubmitRequest,
} from '../pipeline-ports.ts';

export class AwsBatchJobs implements BatchJobs {
  readonly #client: BatchClient;

  constructor(client: BatchClient) {
    this.#client = client;
  }

  async submit(request: BatchSubmitRequest): Promise<{ readonly batchJobId: string }> {
    const out = await this.#client.send(
      new SubmitJobCommand({
        jobName: request.jobName,
        jobQueue: request.jobQueue,
        jobDefinition: request.jobDefinition,
        containerOverrides: {
          environment: Object.entries(request.environment).map(([name, value]) => ({ name, value })),
        },
        propagateTags: true,
        tags: { 'plateau:job': request.jobName },
      }),
    );
    if (!out.jobId) throw new Error('Batch SubmitJob returned no jobId');
    return { batchJobId: out.jobId };
  }

  async describe(batchJobId: string): Promise<BatchJobInfo | undefined> {
    const out = await this.#client.send(new DescribeJobsCommand({ jobs: [batchJobId] }));
    const job = out.jobs?.[0];
    if (!job) return undefined;
    const status = job.status as string | undefined;
    if (!status || !(BATCH_STATUSES as readonly string[]).includes(status)) {
      throw new Error(`Batch job ${batchJobId} has unknown status ${status}`);
    }
    return {
      batchJobId,
      status: status as BatchStatus,
      statusReason: job.statusReason,
      startedAtMs: job.startedAt,
      stoppedAtMs: job.stoppedAt,
      attempts: (job.attempts ?? []).map((attempt) => ({
        startedAtMs: attempt.startedAt,
        stoppedAtMs: attempt.stoppedAt,
        exitCode: attempt.container?.exitCode,
      })),
    };
  }

  async findByName(jobQueue: string, jobName: string, createdAfterMs: number): Promise<string[]> {
    const found: { id: string; createdAt: number }[] = [];
    let nextToken: string | undefined;
    do {
      // With a JOB_NAME filter ListJobs returns jobs in every status (jobStatus is ignored), newest first.
      const out = await this.#client.send(
        new ListJobsCommand({
          jobQueue,
          filters: [{ name: 'JOB_NAME', values: [jobName] }],
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const job of out.jobSummaryList ?? []) {
        const createdAt = job.createdAt ?? 0;
        if (job.jobId && job.jobName === jobName && createdAt >= createdAfterMs)
          found.push({ id: job.jobId, createdAt });
      }
      nextToken = out.nextToken;
    } while (nextToken);
    return found.sort((a, b) => a.createdAt - b.createdAt).map((job) => job.id);
  }

  async terminate(batchJobId: string, reason: string): Promise<void> {
    await this.#client.send(new TerminateJobCommand({ jobId: batchJobId, reason: reason.slice(0, 250) }));
  }
}
