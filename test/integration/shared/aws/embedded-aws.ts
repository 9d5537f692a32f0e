// Test helper: real S3 (s3rver) and DynamoDB (dynalite) servers in-process on 127.0.0.1 with random ports,
// SDK clients pointed at them, and the pipeline's table created from shared/table-layout.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PARTITION_KEY, SORT_KEY } from '../../../../shared/table-layout.ts';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
type DynaliteFactory = (options: Record<string, unknown>) => Server;

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface EmbeddedAws {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly bucket: string;
  readonly table: string;
  close(): Promise<void>;
}

export async function startEmbeddedAws(): Promise<EmbeddedAws> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const dynalite = require('dynalite') as DynaliteFactory;
  const directory = mkdtempSync(join(tmpdir(), 'plateau-s3rver-'));
  const s3server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const s3address = await s3server.run();
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamoServer.listen(0, '127.0.0.1', resolve));
  const dynamoPort = (dynamoServer.address() as AddressInfo).port;

  const region = 'us-east-1';
  const s3 = new S3Client({
    region,
    credentials,
    endpoint: `http://127.0.0.1:${s3address.port}`,
    forcePathStyle: true,
  });
  const dynamo = new DynamoDBClient({ region, credentials, endpoint: `http://127.0.0.1:${dynamoPort}` });
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const bucket = 'plateau-test';
  const table = 'plateau-test';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await dynamo.send(
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
  await waitUntilTableExists(
    { client: dynamo, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.2 },
    { TableName: table },
  );

  return {
    s3,
    dynamo,
    documents,
    bucket,
    table,
    async close() {
      s3.destroy();
      dynamo.destroy();
      await s3server.close();
      await new Promise<void>((resolve) => dynamoServer.close(() => resolve()));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
