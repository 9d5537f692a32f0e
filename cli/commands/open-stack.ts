// The stores a stack command works with, over the AWS SDK (loaded by the stack commands only when they run,
// so `plateau --help` and the other commands never load the SDK).
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { DynamoDbJobReservations } from '../../shared/aws/dynamodb-job-reservations.ts';
import { DynamoDbJobStore } from '../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader } from '../../shared/aws/dynamodb-samples.ts';
import { createS3Client } from '../../shared/aws/s3-client.ts';
import { S3ObjectStore } from '../../shared/aws/s3-store.ts';
import type { StackTarget } from './stack-target.ts';

/** The stores a stack command works with; close() releases the SDK clients' sockets. */
export function openStack(target: StackTarget) {
  const base = {
    ...(target.region ? { region: target.region } : {}),
    ...(target.credentials ? { credentials: { ...target.credentials } } : {}),
  };
  const s3 = createS3Client({ ...base, ...(target.s3Endpoint ? { endpoint: target.s3Endpoint } : {}) });
  const documents = createDocumentClient({
    ...base,
    ...(target.dynamodbEndpoint ? { endpoint: target.dynamodbEndpoint } : {}),
  });
  return {
    target,
    objects: new S3ObjectStore(s3, target.bucket),
    jobs: new DynamoDbJobStore(documents, target.table),
    reservations: new DynamoDbJobReservations(documents, target.table),
    samples: new DynamoDbSampleReader(documents, target.table),
    close: () => {
      s3.destroy();
      documents.destroy();
    },
  };
}
export type OpenStack = ReturnType<typeof openStack>;
