// AWS Batch's API in memory, behind a real BatchClient (its `send` answers SubmitJob, ListJobs, DescribeJobs and
// TerminateJob): the one AWS edge the tests cannot run locally, so the adapter's own requests are what is tested.
import {
  BatchClient,
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
} from '@aws-sdk/client-batch';

export interface FakeBatchJob {
  readonly jobId: string;
  readonly jobName: string;
  readonly jobQueue: string;
  readonly createdAt: number;
  status: string;
  statusReason?: string;
}

export class FakeBatchApi {
  readonly jobs: FakeBatchJob[] = [];
  readonly calls: string[] = [];
  readonly client: BatchClient;
  readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
    this.client = new BatchClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    // Replaces the transport, not the adapter: every command the adapter builds arrives here as sent.
    this.client.send = ((command: unknown) => this.#answer(command)) as BatchClient['send'];
  }

  async #answer(command: unknown): Promise<unknown> {
    if (command instanceof SubmitJobCommand) {
      this.calls.push('SubmitJob');
      const { jobName = '', jobQueue = '' } = command.input;
      const job = {
        jobId: `b-${this.jobs.length + 1}`,
        jobName,
        jobQueue,
        createdAt: this.now(),
        status: 'SUBMITTED',
      };
      this.jobs.push(job);
      return { jobId: job.jobId, jobName, jobArn: `arn:aws:batch:us-east-1:1:job/${job.jobId}` };
    }
    if (command instanceof ListJobsCommand) {
      this.calls.push('ListJobs');
      const { jobQueue, filters = [], nextToken } = command.input;
      const names = filters.find((f) => f.name === 'JOB_NAME')?.values ?? [];
      const matching = this.jobs
        .filter((j) => j.jobQueue === jobQueue && (names.length === 0 || names.includes(j.jobName)))
        .sort((a, b) => b.createdAt - a.createdAt);
      // One job a page, so the adapter's paging is exercised.
      const start = nextToken ? Number(nextToken) : 0;
      const page = matching.slice(start, start + 1);
      return {
        jobSummaryList: page.map((j) => ({
          jobId: j.jobId,
          jobName: j.jobName,
          createdAt: j.createdAt,
          status: j.status,
        })),
        ...(start + 1 < matching.length ? { nextToken: String(start + 1) } : {}),
      };
    }
    if (command instanceof DescribeJobsCommand) {
      this.calls.push('DescribeJobs');
      const ids = command.input.jobs ?? [];
      return { jobs: this.jobs.filter((j) => ids.includes(j.jobId)).map((j) => ({ ...j, attempts: [] })) };
    }
    if (command instanceof TerminateJobCommand) {
      this.calls.push('TerminateJob');
      const job = this.jobs.find((j) => j.jobId === command.input.jobId);
      if (job) Object.assign(job, { status: 'FAILED', statusReason: command.input.reason });
      return {};
    }
    throw new Error(`FakeBatchApi: unexpected ${(command as object).constructor.name}`);
  }
}
