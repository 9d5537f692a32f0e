// SDK clients built once per process. Endpoints come from the SDK's own environment variables
// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB, …), so the embedded mode needs no branches here.
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A document client that drops undefined fields (optional record fields) instead of failing on them. */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** The SDK error name of a failed call (its `name`), for the few errors the adapters treat as answers. */
export function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string'
    ? error.name
    : undefined;
}
