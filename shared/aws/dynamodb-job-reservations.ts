// JobReservations on the job table: one item per reserved jobId (sort key RESERVATION), put only if absent, so
// DynamoDB decides which of two concurrent submits takes an id.
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { JobReservations } from '../submit-claim.ts';
import { jobPartitionKey, PARTITION_KEY, RESERVATION_SORT_KEY, SORT_KEY } from '../table-layout.ts';
import { errorName } from './clients.ts';

export class DynamoDbJobReservations implements JobReservations {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async reserve(jobId: string, reservedAt: Date): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            [PARTITION_KEY]: jobPartitionKey(jobId),
            [SORT_KEY]: RESERVATION_SORT_KEY,
            reservedAt: reservedAt.toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
