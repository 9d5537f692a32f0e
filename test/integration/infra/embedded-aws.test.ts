// `plateau up`'s S3 and DynamoDB accept only this start's credentials (random per start) and send no CORS
// headers: real SDK clients with the right keys work (keys with spaces and unicode too); other keys, a right key id
// with a wrong secret, unsigned requests and browser preflights are refused, on both services.
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type EmbeddedAws, startEmbeddedAws } from '../../../infra/embedded/embedded-aws.ts';

let aws: EmbeddedAws;
let other: EmbeddedAws;
beforeAll(async () => {
  [aws, other] = await Promise.all([startEmbeddedAws(), startEmbeddedAws()]);
});
afterAll(async () => {
  await Promise.all([aws.close(), other.close()]);
});

const s3With = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({ region: aws.region, endpoint: aws.s3Endpoint, forcePathStyle: true, credentials });
const dynamoWith = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new DynamoDBClient({ region: aws.region, endpoint: aws.dynamodbEndpoint, credentials });

test('every start has its own random credentials', () => {
  expect(aws.credentials.accessKeyId).toMatch(/^PLAT[A-Z2-7]{16}$/);
  expect(aws.credentials.secretAccessKey).toHaveLength(40);
  expect(other.credentials).not.toEqual(aws.credentials);
});

test("the stack's credentials work, for odd keys and queries too", async () => {
  const s3 = s3With(aws.credentials);
  const key = 'jobs/a b/input/images/ünï (1)+&=.png';
  await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'x' }));
  const got = await s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key, Range: 'bytes=0-0' }));
  expect(await got.Body?.transformToString()).toBe('x');
  const dynamo = dynamoWith(aws.credentials);
  expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toContain(aws.table);
  s3.destroy();
  dynamo.destroy();
});

test.each([
  ['another start', () => other.credentials, /not this stack's/],
  [
    'the right key id with a wrong secret',
    () => ({ ...aws.credentials, secretAccessKey: 'guess'.repeat(8) }),
    /signature/,
  ],
  [
    's3rver’s old fixed keys',
    () => ({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }),
    /not this stack's/,
  ],
])('credentials of %s are refused by S3 and DynamoDB', async (_label, credentials, reason) => {
  const s3 = s3With(credentials());
  await expect(s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'anything' }))).rejects.toThrow(
    reason,
  );
  const dynamo = dynamoWith(credentials());
  await expect(dynamo.send(new ListTablesCommand({}))).rejects.toThrow(reason);
  s3.destroy();
  dynamo.destroy();
});

test('unsigned requests and browser preflights are refused, and nothing carries Access-Control-Allow-Origin', async () => {
  const origin = { origin: 'http://evil.example' };
  const get = await fetch(`${aws.s3Endpoint}/${aws.bucket}/anything`, { headers: origin });
  expect(get.status).toBe(403);
  expect(get.headers.get('access-control-allow-origin')).toBeNull();
  const preflight = await fetch(`${aws.s3Endpoint}/${aws.bucket}/anything`, {
    method: 'OPTIONS',
    headers: { ...origin, 'access-control-request-method': 'PUT' },
  });
  expect(preflight.status).toBe(403);
  expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  const list = await fetch(aws.dynamodbEndpoint, {
    method: 'POST',
    headers: {
      ...origin,
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.ListTables',
    },
    body: '{}',
  });
  expect(list.status).toBe(400);
  expect(await list.json()).toMatchObject({ __type: 'com.amazon.coral.service#UnrecognizedClientException' });
  expect(list.headers.get('access-control-allow-origin')).toBeNull();
  const dynaPreflight = await fetch(aws.dynamodbEndpoint, {
    method: 'OPTIONS',
    headers: { ...origin, 'access-control-request-method': 'POST' },
  });
  expect(dynaPreflight.headers.get('access-control-allow-origin')).toBeNull();
});

test('a signed request from a browser page still gets no CORS headers (the page cannot read the answer)', async () => {
  const dynamo = new DynamoDBClient({
    region: aws.region,
    endpoint: aws.dynamodbEndpoint,
    credentials: aws.credentials,
  });
  dynamo.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      request.headers.origin = 'http://evil.example';
      return next(args);
    },
    { step: 'build' },
  );
  const seen: (string | null)[] = [];
  dynamo.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { headers: Record<string, string> };
      seen.push(response.headers['access-control-allow-origin'] ?? null);
      return out;
    },
    { step: 'deserialize' },
  );
  await dynamo.send(new ListTablesCommand({}));
  expect(seen).toEqual([null]);
  dynamo.destroy();
});
