// S3 (s3rver) and DynamoDB (dynalite) in-process on 127.0.0.1 with random ports: the bucket and the table
// (layout from shared/table-layout.ts) are created at start, and every ObjectCreated reaches the listeners
// as the standard S3 event notification (keys URL-encoded as S3 encodes them).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { z } from 'zod';
import { PARTITION_KEY, SORT_KEY } from '../../shared/table-layout.ts';

/** s3rver's fixed credentials; the SDK signs with them and s3rver checks the signature. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

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
  readonly credentials: typeof LOCAL_CREDENTIALS;
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
  const s3Address = await s3.run();
  if (options.dynamoDir) mkdirSync(options.dynamoDir, { recursive: true });
  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dynamoDir ? { path: options.dynamoDir } : {}),
  });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
  const dynamoAddress = dynamo.address() as AddressInfo;
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const dynamodbEndpoint = `http://127.0.0.1:${dynamoAddress.port}`;
  await createTable(dynamodbEndpoint, table);

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
    credentials: LOCAL_CREDENTIALS,
    s3Endpoint,
    dynamodbEndpoint,
    bucket,
    table,
    onObjectCreated: (listener) => listeners.push(listener),
    async close() {
      await s3.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function createTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
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
