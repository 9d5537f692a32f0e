// EventPublisher on EventBridge: one PutEvents entry per event; a failed entry is an error, not a silent loss.
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '../events.ts';
import type { EventPublisher } from '../pipeline-ports.ts';

export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #busName: string;

  constructor(client: EventBridgeClient, busName: string) {
    this.#client = client;
    this.#busName = busName;
  }

  async publish(detailType: string, detail: unknown): Promise<void> {
    const out = await this.#client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
            EventBusName: this.#busName,
          },
        ],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const entry = out.Entries?.[0];
      throw new Error(
        `EventBridge rejected the event: ${entry?.ErrorCode ?? '?'} ${entry?.ErrorMessage ?? ''}`,
      );
    }
  }
}
