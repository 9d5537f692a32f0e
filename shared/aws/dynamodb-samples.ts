// Loss samples on DynamoDB: a SampleSink for the trainer (write-behind: each sample leaves at once in the
// background, coalesced into BatchWriteItem chunks of 25, unprocessed items retried with exponential backoff
// and jitter; a resumed attempt deletes the samples past its checkpoint the same way) and the SampleReader the
// monitor queries (all samples, or only those after a step).
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LossSample, SampleSink } from '../ports.ts';
import { LossSampleSchema, normalizeSamples, type SampleReader } from '../samples.ts';
import {
  jobPartitionKey,
  PARTITION_KEY,
  SAMPLE_SORT_PREFIX,
  SORT_KEY,
  sampleSortKey,
  TTL_ATTRIBUTE,
} from '../table-layout.ts';

/** Above every sample sort key (the prefix followed by a character after the digits). */
const SAMPLE_KEY_END = `${SAMPLE_SORT_PREFIX}~`;

/** BatchWriteItem's hard limit on items per request. */
export const BATCH_WRITE_LIMIT = 25;

export interface SampleSinkOptions {
  /** Days until DynamoDB's TTL deletes a sample (counted from the sample's wall time). */
  readonly ttlDays: number;
  /** Flush by itself once this many samples are buffered (default 100). */
  readonly maxBuffered?: number;
  /**
   * Send samples in the background as they are written (one request in flight; what arrives meanwhile goes
   * in the next), so the monitor sees a step within one round trip instead of at the trainer's next flush.
   * Costs the same write units (DynamoDB bills per item, batched or not), only more requests. flush() waits
   * for them; a background failure is thrown by the next write() or flush(). Default true.
   */
  readonly writeBehind?: boolean;
  /** Attempts per chunk before flush fails (default 8). */
  readonly maxAttempts?: number;
  /** First backoff in ms, doubled per attempt, with full jitter (default 50). */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

export class DynamoDbSampleSink implements SampleSink {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #jobId: string;
  readonly #options: Required<SampleSinkOptions>;
  /** Keyed by step: a step written twice before a flush is sent once (BatchWriteItem rejects duplicates). */
  readonly #buffer = new Map<number, LossSample>();
  /** Counters for cost reporting: items written and requests sent. */
  readonly stats = { items: 0, requests: 0, retries: 0 };
  /** The background sender while it runs (write-behind). */
  #sending: Promise<void> | undefined;
  #failure: { readonly error: unknown } | undefined;

  constructor(client: DynamoDBDocumentClient, table: string, jobId: string, options: SampleSinkOptions) {
    this.#client = client;
    this.#table = table;
    this.#jobId = jobId;
    this.#options = {
      maxBuffered: 100,
      writeBehind: true,
      maxAttempts: 8,
      baseDelayMs: 50,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      ...options,
    };
  }

  async write(sample: LossSample): Promise<void> {
    this.#throwFailure();
    this.#buffer.set(sample.step, LossSampleSchema.parse(sample));
    if (this.#buffer.size >= this.#options.maxBuffered) await this.flush();
    else if (this.#options.writeBehind) this.#sendInBackground();
  }

  async flush(): Promise<void> {
    await this.#sending;
    this.#throwFailure();
    await this.#drain();
  }

  /** Deletes every stored sample at or after `step` (their keys by one query, then batched deletes). */
  async discardFrom(step: number): Promise<void> {
    await this.flush();
    const deletes: WriteRequests = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
          ExpressionAttributeValues: {
            ':pk': jobPartitionKey(this.#jobId),
            ':from': sampleSortKey(step),
            ':to': SAMPLE_KEY_END,
          },
          ProjectionExpression: '#pk, #sk',
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      for (const item of out.Items ?? []) {
        deletes.push({
          DeleteRequest: { Key: { [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] } },
        });
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    for (let i = 0; i < deletes.length; i += BATCH_WRITE_LIMIT) {
      await this.#writeChunk(deletes.slice(i, i + BATCH_WRITE_LIMIT));
    }
  }

  /** Sends the buffer in chunks until it is empty (samples written meanwhile included, in order). */
  async #drain(): Promise<void> {
    while (this.#buffer.size > 0) {
      const chunk: LossSample[] = [];
      for (const [step, sample] of this.#buffer) {
        chunk.push(sample);
        this.#buffer.delete(step);
        if (chunk.length === BATCH_WRITE_LIMIT) break;
      }
      await this.#writeChunk(chunk.map((s) => this.#request(s)));
    }
  }

  #sendInBackground(): void {
    if (this.#sending || this.#failure) return;
    this.#sending = this.#drain()
      .catch((error: unknown) => {
        this.#failure = { error };
      })
      .finally(() => {
        this.#sending = undefined;
      });
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
  }

  #request(sample: LossSample): WriteRequests[number] {
    const expiresAt = Math.floor(sample.wallTimeMs / 1000) + Math.round(this.#options.ttlDays * 86_400);
    return {
      PutRequest: {
        Item: {
          ...sample,
          [PARTITION_KEY]: jobPartitionKey(this.#jobId),
          [SORT_KEY]: sampleSortKey(sample.step),
          [TTL_ATTRIBUTE]: expiresAt,
        },
      },
    };
  }

  async #writeChunk(requests: WriteRequests): Promise<void> {
    let pending = requests;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) {
        this.stats.retries++;
        const cap = this.#options.baseDelayMs * 2 ** (attempt - 2);
        await this.#options.sleep(Math.round(cap * this.#options.random()));
      }
      this.stats.requests++;
      const out = await this.#client.send(
        new BatchWriteCommand({ RequestItems: { [this.#table]: pending } }),
      );
      const unprocessed = out.UnprocessedItems?.[this.#table] ?? [];
      this.stats.items += pending.length - unprocessed.length;
      pending = unprocessed;
      if (pending.length > 0 && attempt >= this.#options.maxAttempts) {
        throw new Error(
          `DynamoDB left ${pending.length} sample(s) unprocessed after ${attempt} attempts (throttled table?)`,
        );
      }
    }
  }
}

export class DynamoDbSampleReader implements SampleReader {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  read(jobId: string): Promise<LossSample[]> {
    return this.#query(jobId, 'begins_with(#sk, :from)', SAMPLE_SORT_PREFIX);
  }

  readAfter(jobId: string, afterStep: number): Promise<LossSample[]> {
    // Sort keys are zero-padded step numbers, so "after step s" is a key range starting at step s + 1.
    return this.#query(jobId, '#sk BETWEEN :from AND :to', sampleSortKey(afterStep + 1), SAMPLE_KEY_END);
  }

  async #query(jobId: string, skCondition: string, from: string, to?: string): Promise<LossSample[]> {
    const samples: LossSample[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: `#pk = :pk AND ${skCondition}`,
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
          ExpressionAttributeValues: {
            ':pk': jobPartitionKey(jobId),
            ':from': from,
            ...(to === undefined ? {} : { ':to': to }),
          },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      for (const item of out.Items ?? []) samples.push(LossSampleSchema.parse(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return normalizeSamples(samples);
  }
}
