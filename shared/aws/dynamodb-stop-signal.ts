// StopSignal for the trainer: reads stopRequested, stopReason and criterionStep from the job record (one
// consistent GetItem of three attributes per check; the trainer checks at every sample flush).
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { StopCheck, StopSignal } from '../ports.ts';
import { jobPartitionKey, PARTITION_KEY, RECORD_SORT_KEY, SORT_KEY } from '../table-layout.ts';

export class DynamoDbStopSignal implements StopSignal {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #jobId: string;

  constructor(client: DynamoDBDocumentClient, table: string, jobId: string) {
    this.#client = client;
    this.#table = table;
    this.#jobId = jobId;
  }

  async check(): Promise<StopCheck> {
    const out = await this.#client.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [PARTITION_KEY]: jobPartitionKey(this.#jobId), [SORT_KEY]: RECORD_SORT_KEY },
        ProjectionExpression: 'stopRequested, stopReason, criterionStep',
        ConsistentRead: true,
      }),
    );
    const stop = out.Item?.stopRequested === true;
    const reason = out.Item?.stopReason;
    if (!stop || typeof reason !== 'string') return { stop };
    const step = out.Item?.criterionStep;
    return reason === 'criterion' && typeof step === 'number'
      ? { stop, reason, criterionStep: step }
      : { stop, reason };
  }
}
