// Lambda entry for evaluate-stop (a monitor task; input MonitorState, output MonitorDecision stored at
// $.decision): wiring only. Config is read once at cold start; the logic lives in evaluate-stop.ts.
import { BatchClient } from '@aws-sdk/client-batch';
import { AwsBatchJobs } from '../../shared/aws/batch-jobs.ts';
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader } from '../../shared/aws/dynamodb-samples.ts';
import { ENV, readEnv } from '../../shared/env.ts';
import { systemClock } from '../../shared/pipeline-ports.ts';
import { evaluateStop, parseEvaluateInput, parseRunnableLimit } from './evaluate-stop.ts';

const env = readEnv(['TABLE']);
const documents = createDocumentClient();
const deps = {
  jobs: new DynamoDbJobStore(documents, env.TABLE),
  samples: new DynamoDbSampleReader(documents, env.TABLE),
  batch: new AwsBatchJobs(new BatchClient({})),
  clock: systemClock,
  runnableLimitSeconds: parseRunnableLimit(process.env[ENV.RUNNABLE_LIMIT_SECONDS]),
};

export const handler = async (event: unknown) => evaluateStop(parseEvaluateInput(event), deps);
