// Webhook delivery: POST the completion event, signed with HMAC-SHA256 over "<timestamp>.<body>" (so a
// receiver can check both origin and freshness), retried with backoff on network errors, 408, 429 and 5xx.
import { createHmac } from 'node:crypto';
import {
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '../../shared/events.ts';
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
