// Real S3 (s3rver) and DynamoDB (dynalite) on 127.0.0.1 for the adapter tests: the embedded runtime's own
// starter (infra/embedded/embedded-aws.ts, bucket and table created), plus SDK clients pointed at it.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startEmbeddedAws as startEmbeddedServices } from '../../../../infra/embedded/embedded-aws.ts';

export interface EmbeddedAws {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly bucket: string;
  readonly table: string;
  close(): Promise<void>;
}

export async function startEmbeddedAws(): Promise<EmbeddedAws> {
  const services = await startEmbeddedServices({ bucket: 'plateau-test', table: 'plateau-test' });
  const { region, credentials } = services;
  const s3 = new S3Client({ region, credentials, endpoint: services.s3Endpoint, forcePathStyle: true });
  const dynamo = new DynamoDBClient({ region, credentials, endpoint: services.dynamodbEndpoint });
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  return {
    s3,
    dynamo,
    documents,
    bucket: services.bucket,
    table: services.table,
    async close() {
      s3.destroy();
      dynamo.destroy();
      await services.close();
    },
  };
}
