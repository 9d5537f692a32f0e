// Re-driving after a restart: `plateau up --state <dir>` keeps S3 objects and DynamoDB items, but the trainer
// processes and monitor executions of the previous run died with it. Every job the records still show non-final
// gets a new local Batch job (the trainer resumes from its last checkpoint) and a new monitor execution.
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { batchRequest, type SubmitJobConfig } from '../../functions/submit-job/submit-job.ts';
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { isFinal, JOB_STATUSES, JobRecord, type JobStatus, type JobStore } from '../../shared/job-record.ts';
import type { MonitorState } from '../../shared/monitor-contract.ts';
import type { BatchJobs, MonitorStarter } from '../../shared/pipeline-ports.ts';
import { PARTITION_KEY, RECORD_SORT_KEY, SORT_KEY } from '../../shared/table-layout.ts';
import { type EmbeddedPipeline, LOCAL_JOB_DEFINITION, LOCAL_JOB_QUEUE } from './embedded-pipeline.ts';

export interface RedriveDeps {
  readonly documents: DynamoDBDocumentClient;
  readonly table: string;
  readonly jobs: JobStore;
  readonly batch: BatchJobs;
  readonly monitor: MonitorStarter;
  readonly config: SubmitJobConfig;
  readonly log?: (line: string) => void;
}

/** Every record whose status is not final (a Scan: the embedded table holds one machine's jobs). */
export async function nonFinalJobs(documents: DynamoDBDocumentClient, table: string): Promise<JobRecord[]> {
  const open = JOB_STATUSES.filter((status) => !isFinal(status));
  const found: JobRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documents.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: `#sk = :record AND #status IN (${open.map((_, i) => `:s${i}`).join(', ')})`,
        ExpressionAttributeNames: { '#sk': SORT_KEY, '#status': 'status' },
        ExpressionAttributeValues: {
          ':record': RECORD_SORT_KEY,
          ...Object.fromEntries(open.map((status, i) => [`:s${i}`, status])),
        },
        ExclusiveStartKey: start,
      }),
    );
    for (const { [PARTITION_KEY]: _pk, [SORT_KEY]: _sk, ...item } of out.Items ?? []) {
      found.push(JobRecord.parse(item));
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return found.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

/**
 * Starts a trainer and a monitor again for each non-final job whose Batch job this runner does not know (it ran in
 * the previous process). Jobs never submitted are left to submit-job's reconciler. Returns the jobIds re-driven.
 */
export async function redriveJobs(deps: RedriveDeps): Promise<string[]> {
  const redriven: string[] = [];
  const open: JobStatus[] = JOB_STATUSES.filter((status) => !isFinal(status));
  for (const record of await nonFinalJobs(deps.documents, deps.table)) {
    if (!record.batchJobId || !record.executionArn) continue;
    if ((await deps.batch.describe(record.batchJobId)) !== undefined) continue;
    const { batchJobId } = await deps.batch.submit(batchRequest(record.jobId, deps.config));
    if (!(await deps.jobs.update(record.jobId, { from: open, patch: { batchJobId } }))) {
      // Final in between (nothing runs yet, so only a concurrent client could): this trainer must not run.
      await deps.batch.terminate(batchJobId, 'job already final').catch(() => undefined);
      continue;
    }
    const input: MonitorState = { jobId: record.jobId, stopRequested: record.stopRequested };
    const { executionArn } = await deps.monitor.start(record.jobId, input);
    await deps.jobs.update(record.jobId, { from: open, patch: { executionArn } });
    deps.log?.(`re-driven job ${record.jobId} (${record.status}): Batch job ${batchJobId}`);
    redriven.push(record.jobId);
  }
  return redriven;
}

/** Re-drives a started embedded pipeline's saved jobs, then lets the reconciler finish never-submitted ones. */
export async function redrivePipeline(
  pipeline: EmbeddedPipeline,
  log?: (line: string) => void,
): Promise<string[]> {
  const { aws } = pipeline;
  const documents = createDocumentClient({
    region: aws.region,
    credentials: aws.credentials,
    endpoint: aws.dynamodbEndpoint,
  });
  try {
    const redriven = await redriveJobs({
      documents,
      table: aws.table,
      jobs: pipeline.stores.jobs,
      batch: pipeline.batch,
      monitor: pipeline.monitor,
      config: {
        bucket: aws.bucket,
        table: aws.table,
        jobQueue: LOCAL_JOB_QUEUE,
        jobDefinition: LOCAL_JOB_DEFINITION,
      },
      ...(log ? { log } : {}),
    });
    await pipeline.reconcile();
    return redriven;
  } finally {
    documents.destroy();
  }
}
