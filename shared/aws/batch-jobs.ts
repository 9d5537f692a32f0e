// BatchJobs on AWS Batch: SubmitJob with the per-job environment as container overrides, DescribeJobs reduced
// to what the monitor needs (status, reason, attempt times), TerminateJob.
import {
  type BatchClient,
  DescribeJobsCommand,
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

  async terminate(batchJobId: string, reason: string): Promise<void> {
    await this.#client.send(new TerminateJobCommand({ jobId: batchJobId, reason: reason.slice(0, 250) }));
  }
}
