// Lambda entry for finalize (the monitor's last task; input MonitorState with the final decision): wiring
// only. Config is read once at cold start; the webhook secret only when configured. Logic: finalize.ts.
import { BatchClient } from '@aws-sdk/client-batch';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { AwsBatchJobs } from '../../shared/aws/batch-jobs.ts';
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader } from '../../shared/aws/dynamodb-samples.ts';
import { EventBridgePublisher } from '../../shared/aws/eventbridge-publisher.ts';
import { S3ObjectStore } from '../../shared/aws/s3-store.ts';
import { ExtensionSecretSource } from '../../shared/aws/secret-source.ts';
import { ENV, readEnv } from '../../shared/env.ts';
import { systemClock } from '../../shared/pipeline-ports.ts';
import { fetchPoster } from './fetch-poster.ts';
import { finalize, parseFinalizeInput } from './finalize.ts';

const env = readEnv(['BUCKET', 'TABLE', 'EVENT_BUS', 'GPU_HOUR_PRICE_USD']);
const gpuHourPriceUsd = Number(env.GPU_HOUR_PRICE_USD);
if (!Number.isFinite(gpuHourPriceUsd) || gpuHourPriceUsd < 0) {
  throw new Error(`${ENV.GPU_HOUR_PRICE_USD} must be a non-negative number (got ${env.GPU_HOUR_PRICE_USD})`);
}
const secretArn = process.env[ENV.WEBHOOK_SECRET_ARN];
const documents = createDocumentClient();
const deps = {
  objects: new S3ObjectStore(new S3Client({}), env.BUCKET),
  jobs: new DynamoDbJobStore(documents, env.TABLE),
  samples: new DynamoDbSampleReader(documents, env.TABLE),
  batch: new AwsBatchJobs(new BatchClient({})),
  events: new EventBridgePublisher(new EventBridgeClient({}), env.EVENT_BUS),
  clock: systemClock,
  gpuHourPriceUsd,
  ...(secretArn ? { webhook: { http: fetchPoster(), secret: new ExtensionSecretSource(secretArn) } } : {}),
};

export const handler = async (event: unknown) => finalize(parseFinalizeInput(event), deps);
