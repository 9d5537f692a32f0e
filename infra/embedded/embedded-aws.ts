// S3 (s3rver) and DynamoDB (dynalite) in-process on 127.0.0.1 with random ports: the bucket and the table
// (layout from shared/table-layout.ts) are created at start, and every ObjectCreated reaches the listeners
// as the standard S3 event notification (keys URL-encoded as S3 encodes them). Both accept only requests signed
// with this start's random credentials (sigv4-check.ts) and send no CORS headers.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import s3rverAccounts from 's3rver/lib/models/account.js';
import { z } from 'zod';
import { PARTITION_KEY, SORT_KEY } from '../../shared/table-layout.ts';
import { checkSigV4, type LocalCredentials } from './sigv4-check.ts';

export const LOCAL_REGION = 'us-east-1';

/** A key pair for one start: an AWS-shaped access key id and a 40-character secret, both random. */
export function randomCredentials(): LocalCredentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((byte) => alphabet[byte % 32]).join('');
  return { accessKeyId: `PLAT${id}`, secretAccessKey: randomBytes(30).toString('base64url') };
}

export interface EmbeddedAwsOptions {
  /** Folder for S3 objects (kept across restarts when given); a temporary folder otherwise. */
  readonly dataDir?: string;
  /** Folder for DynamoDB data (LevelDB); in memory otherwise. */
  readonly dynamoDir?: string;
  /** @default 'plateau' */
  readonly bucket?: string;
  /** @default 'plateau' */
  readonly table?: string;
}

export interface EmbeddedAws {
  readonly region: string;
  /** The only credentials the two services accept: random for every start, printed by `plateau up --json`. */
  readonly credentials: LocalCredentials;
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  readonly bucket: string;
  readonly table: string;
  /** Called with the standard S3 event (one record) for every object created in any bucket. */
  onObjectCreated(listener: (event: S3Notification) => void): void;
  close(): Promise<void>;
}

const S3rverEvent = z.object({
  Records: z
    .array(
      z.object({
        eventName: z.string(),
        s3: z.object({ bucket: z.object({ name: z.string() }), object: z.looseObject({ key: z.string() }) }),
      }),
    )
    .length(1),
});
export type S3Notification = { readonly Records: readonly Record<string, unknown>[] };

/** S3 URL-encodes keys in notifications, with '+' for spaces; s3rver sends them raw. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

export async function startEmbeddedAws(options: EmbeddedAwsOptions = {}): Promise<EmbeddedAws> {
  const bucket = options.bucket ?? 'plateau';
  const table = options.table ?? 'plateau';
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'plateau-s3-'));
  mkdirSync(dataDir, { recursive: true });
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dataDir,
    configureBuckets: [{ name: bucket }],
  });
  const credentials = randomCredentials();
  // s3rver needs the key in its (process-wide) registry; the guard in front of it makes it the only one accepted.
  s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  s3.middleware.unshift(async (ctx, next) => {
    const check = checkSigV4({ method: ctx.method, url: ctx.url, headers: ctx.headers }, credentials);
    if (!check.ok) {
      ctx.status = 403;
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${check.code === 'MissingAuthentication' ? 'AccessDenied' : check.code}</Code><Message>${check.reason}</Message></Error>`;
      return;
    }
    await next();
    for (const name of Object.keys(ctx.response.headers))
      if (name.startsWith('access-control-')) ctx.remove(name);
  });
  const s3Address = await s3.run();
  if (options.dynamoDir) mkdirSync(options.dynamoDir, { recursive: true });
  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dynamoDir ? { path: options.dynamoDir } : {}),
  });
  guardDynalite(dynamo, credentials);
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
  const dynamoAddress = dynamo.address() as AddressInfo;
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const dynamodbEndpoint = `http://127.0.0.1:${dynamoAddress.port}`;
  await createTable(dynamodbEndpoint, table, credentials);

  const listeners: ((event: S3Notification) => void)[] = [];
  s3.on('event', (raw) => {
    const parsed = S3rverEvent.safeParse(raw);
    if (!parsed.success) return;
    const [record] = parsed.data.Records;
    if (!record?.eventName.startsWith('ObjectCreated')) return;
    const event: S3Notification = {
      Records: [
        {
          ...record,
          awsRegion: LOCAL_REGION,
          s3: { ...record.s3, object: { ...record.s3.object, key: encodeEventKey(record.s3.object.key) } },
        },
      ],
    };
    for (const listener of listeners) listener(event);
  });

  return {
    region: LOCAL_REGION,
    credentials,
    s3Endpoint,
    dynamodbEndpoint,
    bucket,
    table,
    onObjectCreated: (listener) => listeners.push(listener),
    async close() {
      await s3.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
      s3rverAccounts.DUMMY_ACCOUNT.revokeAccessKey(credentials.accessKeyId);
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Puts a SigV4 check in front of dynalite's handler (which checks no credentials at all): the body is read, the
 * signature verified, and only then is the request replayed to dynalite, whose CORS headers are dropped.
 */
function guardDynalite(server: ReturnType<typeof dynalite>, credentials: LocalCredentials): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const check = checkSigV4(
        { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body },
        credentials,
      );
      if (!check.ok) {
        // DynamoDB's own answers: 400 with the coral error type the SDK maps to an error name.
        const type =
          check.code === 'SignatureDoesNotMatch'
            ? 'InvalidSignatureException'
            : 'UnrecognizedClientException';
        const text = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message: check.reason });
        res.writeHead(400, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name, value) =>
        name.toLowerCase().startsWith('access-control-') ? res : setHeader(name, value);
      const replay = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
        headers: req.headers,
        method: req.method,
        url: req.url,
      });
      for (const handler of handlers) handler(replay as unknown as IncomingMessage, res);
    });
  });
}

async function createTable(endpoint: string, table: string, credentials: LocalCredentials): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials });
  try {
    const existing = await client
      .send(new DescribeTableCommand({ TableName: table }))
      .then((out) => out.Table?.TableStatus)
      .catch(() => undefined);
    if (existing === 'ACTIVE') return;
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: SORT_KEY, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
      }),
    );
    for (let i = 0; i < 100; i++) {
      const out = await client.send(new DescribeTableCommand({ TableName: table }));
      if (out.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`table ${table} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}
