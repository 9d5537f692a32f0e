// The Batch, Step Functions and EventBridge adapters through the real SDK clients against a scripted HTTP
// endpoint on 127.0.0.1 (these services have no local implementation here): the requests they send and how
// they read answers and errors. Plus the secret source reading the Lambda extension's HTTP API.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchClient } from '@aws-sdk/client-batch';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { AwsBatchJobs } from '../../../../shared/aws/batch-jobs.ts';
import { EventBridgePublisher } from '../../../../shared/aws/eventbridge-publisher.ts';
import { ExtensionSecretSource } from '../../../../shared/aws/secret-source.ts';
import { executionArnFor, SfnMonitorStarter } from '../../../../shared/aws/sfn-monitor-starter.ts';

interface Seen {
  readonly path: string;
  readonly target: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}
type Answer = { status: number; body: unknown; headers?: Record<string, string> };

let server: Server;
let endpoint: string;
const seen: Seen[] = [];
let answer: (request: Seen) => Answer = () => ({ status: 200, body: {} });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: Seen = {
        path: req.url ?? '',
        target: req.headers['x-amz-target'] as string | undefined,
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      seen.push(request);
      const { status, body, headers } = answer(request);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

const config = () => ({
  region: 'us-east-1',
  endpoint,
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  maxAttempts: 1,
});

describe('AwsBatchJobs', () => {
  test('SubmitJob carries the per-job environment as container overrides', async () => {
    answer = () => ({ status: 200, body: { jobId: 'b-123', jobName: 'plateau-j', jobArn: 'arn' } });
    const batch = new AwsBatchJobs(new BatchClient(config()));
    const out = await batch.submit({
      jobName: 'plateau-j',
      jobQueue: 'q',
      jobDefinition: 'd',
      environment: { PLATEAU_JOB_ID: 'j', PLATEAU_BUCKET: 'bk' },
    });
    expect(out).toEqual({ batchJobId: 'b-123' });
    expect(seen[0]?.path).toBe('/v1/submitjob');
    expect(seen[0]?.body).toMatchObject({
      jobName: 'plateau-j',
      jobQueue: 'q',
      jobDefinition: 'd',
      containerOverrides: {
        environment: [
          { name: 'PLATEAU_JOB_ID', value: 'j' },
          { name: 'PLATEAU_BUCKET', value: 'bk' },
        ],
      },
    });
  });

  test('DescribeJobs is reduced to status, reason and attempt times; an unknown job is undefined', async () => {
    answer = () => ({
      status: 200,
      body: {
        jobs: [
          {
            jobId: 'b-1',
            jobName: 'n',
            jobQueue: 'q',
            jobDefinition: 'd',
            status: 'RUNNING',
            startedAt: 1000,
            attempts: [
              {
                startedAt: 10,
                stoppedAt: 20,
                container: { exitCode: 143 },
                statusReason: 'Host EC2 terminated',
              },
            ],
          },
        ],
      },
    });
    const batch = new AwsBatchJobs(new BatchClient(config()));
    expect(await batch.describe('b-1')).toEqual({
      batchJobId: 'b-1',
      status: 'RUNNING',
      statusReason: undefined,
      startedAtMs: 1000,
      stoppedAtMs: undefined,
      attempts: [{ startedAtMs: 10, stoppedAtMs: 20, exitCode: 143 }],
    });
    expect(seen[0]?.body).toEqual({ jobs: ['b-1'] });
    answer = () => ({ status: 200, body: { jobs: [] } });
    expect(await batch.describe('gone')).toBeUndefined();
  });

  test('TerminateJob sends the reason, truncated to what Batch accepts', async () => {
    answer = () => ({ status: 200, body: {} });
    await new AwsBatchJobs(new BatchClient(config())).terminate('b-1', 'x'.repeat(300));
    expect(seen[0]?.path).toBe('/v1/terminatejob');
    expect(seen[0]?.body).toEqual({ jobId: 'b-1', reason: 'x'.repeat(250) });
  });
});

describe('SfnMonitorStarter', () => {
  const sm = 'arn:aws:states:us-east-1:123456789012:stateMachine:plateau-monitor';

  test('starts an execution named after the job with the JSON input', async () => {
    answer = () => ({ status: 200, body: { executionArn: `${sm}:x`, startDate: 1 } });
    const out = await new SfnMonitorStarter(new SFNClient(config()), sm).start('job-1', { jobId: 'job-1' });
    expect(out).toEqual({ executionArn: `${sm}:x`, alreadyStarted: false });
    expect(seen[0]?.target).toBe('AWSStepFunctions.StartExecution');
    expect(seen[0]?.body).toEqual({ stateMachineArn: sm, name: 'job-1', input: '{"jobId":"job-1"}' });
  });

  test('ExecutionAlreadyExists means already started, with the derived execution ARN; other errors throw', async () => {
    answer = () => ({ status: 400, body: { __type: 'ExecutionAlreadyExists', message: 'exists' } });
    const starter = new SfnMonitorStarter(new SFNClient(config()), sm);
    expect(await starter.start('job-1', {})).toEqual({
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:plateau-monitor:job-1',
      alreadyStarted: true,
    });
    answer = () => ({ status: 400, body: { __type: 'StateMachineDoesNotExist', message: 'no' } });
    await expect(starter.start('job-1', {})).rejects.toThrow(/no/);
  });

  test('executionArnFor rejects what is not a state machine ARN', () => {
    expect(() => executionArnFor('arn:aws:lambda:x', 'a')).toThrow(/not a state machine ARN/);
  });
});

describe('EventBridgePublisher', () => {
  test('puts one entry on the bus with source plateau; a failed entry is an error', async () => {
    answer = () => ({ status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] } });
    const publisher = new EventBridgePublisher(new EventBridgeClient(config()), 'bus');
    await publisher.publish('Plateau Job Finished', { jobId: 'j' });
    expect(seen[0]?.target).toBe('AWSEvents.PutEvents');
    expect(seen[0]?.body).toEqual({
      Entries: [
        {
          Source: 'plateau',
          DetailType: 'Plateau Job Finished',
          Detail: '{"jobId":"j"}',
          EventBusName: 'bus',
        },
      ],
    });
    answer = () => ({
      status: 200,
      body: { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }] },
    });
    await expect(publisher.publish('x', {})).rejects.toThrow(/InternalFailure try later/);
  });
});

describe('ExtensionSecretSource', () => {
  test('reads SecretString once with the session token header, and retries after a failure', async () => {
    const port = Number(new URL(endpoint).port);
    answer = () => ({ status: 500, body: {} });
    const source = new ExtensionSecretSource('arn:secret', { port, sessionToken: 'tok' });
    await expect(source.get()).rejects.toThrow(/HTTP 500/);
    answer = () => ({ status: 200, body: { SecretString: 'k3y' } });
    expect(await source.get()).toBe('k3y');
    expect(await source.get()).toBe('k3y');
    expect(seen).toHaveLength(2);
    expect(seen[1]?.path).toBe('/secretsmanager/get?secretId=arn%3Asecret');
    expect(seen[1]?.headers['x-aws-parameters-secrets-token']).toBe('tok');
  });
});
