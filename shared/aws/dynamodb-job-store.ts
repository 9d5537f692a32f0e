// JobStore on DynamoDB: conditional put for creation (duplicate events are no-ops) and guarded updates whose
// condition encodes the status machine, so concurrent or replayed writers cannot move a job backwards.
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type JobChange, JobRecord, type JobStore, type UnsettledJobs } from '../job-record.ts';
import { jobPartitionKey, PARTITION_KEY, RECORD_SORT_KEY, SORT_KEY } from '../table-layout.ts';
import { errorName } from './clients.ts';

export class DynamoDbJobStore implements JobStore, UnsettledJobs {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;

  constructor(client: DynamoDBDocumentClient, table: string, now: () => Date = () => new Date()) {
    this.#client = client;
    this.#table = table;
    this.#now = now;
  }

  #key(jobId: string) {
    return { [PARTITION_KEY]: jobPartitionKey(jobId), [SORT_KEY]: RECORD_SORT_KEY };
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(jobId), ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async create(record: JobRecord): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...JobRecord.parse(record), ...this.#key(record.jobId) },
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

  /**
   * A filtered Scan over the records: the reconciler runs every few minutes and the table holds one record per
   * job plus samples that expire, so a secondary index would cost more than it saves at this size.
   */
  async listUnsettled(): Promise<JobRecord[]> {
    const found: JobRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new ScanCommand({
          TableName: this.#table,
          FilterExpression:
            '#sk = :record AND #status = :queued AND (attribute_not_exists(#batch) OR attribute_not_exists(#exec))',
          ExpressionAttributeNames: {
            '#sk': SORT_KEY,
            '#status': 'status',
            '#batch': 'batchJobId',
            '#exec': 'executionArn',
          },
          ExpressionAttributeValues: { ':record': RECORD_SORT_KEY, ':queued': 'QUEUED' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) found.push(toRecord(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async update(jobId: string, change: JobChange): Promise<JobRecord | undefined> {
    if (change.from.length === 0) return undefined;
    const names: Record<string, string> = {
      '#pk': PARTITION_KEY,
      '#status': 'status',
      '#updatedAt': 'updatedAt',
    };
    const values: Record<string, unknown> = { ':updatedAt': this.#now().toISOString() };
    const sets = ['#updatedAt = :updatedAt'];
    if (change.to) {
      values[':to'] = change.to;
      sets.push('#status = :to');
    }
    Object.entries(change.patch ?? {}).forEach(([field, value], index) => {
      if (value === undefined) return;
      names[`#f${index}`] = field;
      values[`:v${index}`] = value;
      sets.push(`#f${index} = :v${index}`);
    });
    const removes = (change.clear ?? []).map((field, index) => {
      names[`#c${index}`] = field;
      return `#c${index}`;
    });
    const froms = change.from.map((status, index) => {
      values[`:from${index}`] = status;
      return `:from${index}`;
    });
    const conditions = ['attribute_exists(#pk)', `#status IN (${froms.join(', ')})`];
    const when = change.when;
    if (when?.kind === 'absent') {
      names['#absent'] = when.field;
      conditions.push('attribute_not_exists(#absent)');
    } else if (when?.kind === 'leaseFree') {
      names['#batchJobId'] = 'batchJobId';
      names['#lease'] = 'submitLeaseUntilMs';
      values[':nowMs'] = when.nowMs;
      conditions.push(
        'attribute_not_exists(#batchJobId)',
        '(attribute_not_exists(#lease) OR #lease < :nowMs)',
      );
    }
    try {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(jobId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ? toRecord(out.Attributes) : undefined;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }
}

function toRecord(item: Record<string, unknown>): JobRecord {
  const { [PARTITION_KEY]: _pk, [SORT_KEY]: _sk, ...rest } = item;
  return JobRecord.parse(rest);
}
