// Webhook delivery: POST the completion event, signed with HMAC-SHA256 over "<timestamp>.<body>" (so a
// receiver can check both origin and freshness), retried with backoff on network errors, 408, 429 and 5xx; sent
// at most once per job, by the finalize that first records the delivery id on the job record.
import { createHmac } from 'node:crypto';
import {
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '../../shared/events.ts';
import type { JobRecord, JobStore } from '../../shared/job-record.ts';
import type { Clock, HttpPoster } from '../../shared/pipeline-ports.ts';

export const WEBHOOK_RETRY = { attempts: 4, baseDelayMs: 1000 } as const;

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type WebhookResult =
  | { readonly delivered: true; readonly attempts: number; readonly status: number }
  | { readonly delivered: false; readonly attempts: number; readonly error: string };

export async function deliverWebhook(
  url: string,
  body: string,
  secret: string,
  deps: { readonly http: HttpPoster; readonly clock: Clock },
  deliveryId?: string,
): Promise<WebhookResult> {
  let error = '';
  for (let attempt = 1; attempt <= WEBHOOK_RETRY.attempts; attempt++) {
    if (attempt > 1) await deps.clock.sleep(WEBHOOK_RETRY.baseDelayMs * 2 ** (attempt - 2));
    const timestamp = Math.floor(deps.clock.now().getTime() / 1000);
    const headers = {
      'content-type': 'application/json',
      ...(deliveryId === undefined ? {} : { [WEBHOOK_DELIVERY_HEADER]: deliveryId }),
      [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
      [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
    };
    try {
      const status = await deps.http.post(url, body, headers);
      if (status >= 200 && status < 300) return { delivered: true, attempts: attempt, status };
      error = `HTTP ${status}`;
      if (status < 500 && status !== 408 && status !== 429)
        return { delivered: false, attempts: attempt, error };
    } catch (cause) {
      error = (cause as Error).message;
    }
  }
  return { delivered: false, attempts: WEBHOOK_RETRY.attempts, error };
}

/**
 * Delivers the completion webhook unless an earlier finalize of this job already did: the delivery id is written
 * to the record first, by a conditional write that only one finalize wins (a retried or concurrent one finds it
 * there and sends nothing). At most once, by choice: a finalize that dies between the write and the POST sends
 * nothing, where sending twice would make a receiver without dedupe act twice.
 */
export async function deliverWebhookOnce(
  record: JobRecord,
  delivery: { readonly url: string; readonly body: string; readonly id: string; readonly secret: string },
  deps: { readonly jobs: Pick<JobStore, 'update'>; readonly http: HttpPoster; readonly clock: Clock },
): Promise<WebhookResult | { readonly delivered: false; readonly error: string }> {
  const claimed = await deps.jobs.update(record.jobId, {
    from: [record.status],
    patch: { webhookDeliveryId: delivery.id },
    when: { kind: 'absent', field: 'webhookDeliveryId' },
  });
  if (!claimed) {
    return { delivered: false, error: `not sent again: an earlier finalize took delivery ${delivery.id}` };
  }
  return deliverWebhook(delivery.url, delivery.body, delivery.secret, deps, delivery.id);
}
