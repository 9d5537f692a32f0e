// The embedded runtime's EventBridge bus: keeps every published event in memory and tells listeners.
import type { EventPublisher } from '../../shared/pipeline-ports.ts';

export interface LocalEvent {
  readonly detailType: string;
  readonly detail: unknown;
  readonly time: string;
}

export class LocalEventBus implements EventPublisher {
  readonly events: LocalEvent[] = [];
  readonly #listeners: ((event: LocalEvent) => void)[] = [];

  async publish(detailType: string, detail: unknown): Promise<void> {
    const event = { detailType, detail, time: new Date().toISOString() };
    this.events.push(event);
    for (const listener of this.#listeners) listener(event);
  }

  onEvent(listener: (event: LocalEvent) => void): void {
    this.#listeners.push(listener);
  }
}
