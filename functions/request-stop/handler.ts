// Lambda entry for request-stop (a monitor task; input MonitorState, output the MonitorState with
// stopRequested = true, which replaces the state): wiring only; the logic lives in request-stop.ts.
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../shared/aws/dynamodb-job-store.ts';
import { readEnv } from '../../shared/env.ts';
import { systemClock } from '../../shared/pipeline-ports.ts';
import { parseRequestStopInput, requestStop } from './request-stop.ts';

const env = readEnv(['TABLE']);
const deps = { jobs: new DynamoDbJobStore(createDocumentClient(), env.TABLE), clock: systemClock };

export const handler = async (event: unknown) => requestStop(parseRequestStopInput(event), deps);
