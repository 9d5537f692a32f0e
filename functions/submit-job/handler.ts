// Lambda entry for submit-job (S3 ObjectCreated on jobs/*/input/job.json, and the reconciler's schedule):
// wiring only. Config is read once at cold start (a missing variable fails the init); the logic lives in
// submit-job.ts and reconcile.ts.
import { BatchClient } from '@aws-sdk/client-batch';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { AwsBatchJobs } from '../../shared/aws/batch-jobs.ts';
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../shared/aws/dynamodb-job-store.ts';
import { S3ObjectStore } from '../../shared/aws/s3-store.ts';
import { SfnMonitorStarter } from '../../shared/aws/sfn-monitor-starter.ts';
import { ENV, readEnv } from '../../shared/env.ts';
import { systemClock } from '../../shared/pipeline-ports.ts';
import { isScheduledEvent, reconcileJobs } from './reconcile.ts';
import { makeSubmitJobHandler, type SubmitJobDeps } from './submit-job.ts';

const env = readEnv(['BUCKET', 'TABLE', 'JOB_QUEUE', 'JOB_DEFINITION', 'STATE_MACHINE_ARN']);
const ttlDays = process.env[ENV.SAMPLE_TTL_DAYS];

const jobs = new DynamoDbJobStore(createDocumentClient(), env.TABLE);
const deps: SubmitJobDeps = {
  objects: new S3ObjectStore(new S3Client({}), env.BUCKET),
  jobs,
  batch: new AwsBatchJobs(new BatchClient({})),
  monitor: new SfnMonitorStarter(new SFNClient({}), env.STATE_MACHINE_ARN),
  clock: systemClock,
  config: {
    bucket: env.BUCKET,
    table: env.TABLE,
    jobQueue: env.JOB_QUEUE,
    jobDefinition: env.JOB_DEFINITION,
    trainerEnvironment: ttlDays ? { [ENV.SAMPLE_TTL_DAYS]: ttlDays } : {},
  },
  log: (message, fields) => console.log(JSON.stringify({ message, ...fields })),
};
const submit = makeSubmitJobHandler(deps);

export const handler = (event: unknown) =>
  isScheduledEvent(event) ? reconcileJobs(jobs, deps) : submit(event);
