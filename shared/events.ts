// Event shapes at the pipeline's edges: the S3 notification that starts a job (parsed with zod where it
// enters), and the completion event finalize publishes on EventBridge and POSTs to the webhook.
import { z } from 'zod';
import { JobStatus, StopReason } from './job-record.ts';

/** The standard S3 event notification (direct S3 → Lambda), only the fields the pipeline reads. */
export const S3NotificationEvent = z.object({
  Records: z
    .array(
      z.object({
        eventName: z.string().optional(),
        s3: z.object({
          bucket: z.object({ name: z.string() }),
          object: z.object({ key: z.string(), size: z.number().optional() }),
        }),
      }),
    )
    .min(1),
});

/** S3 "Object Created" delivered through EventBridge. */
export const S3EventBridgeEvent = z.object({
  'detail-type': z.literal('Object Created'),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: z.string(), size: z.number().optional() }),
  }),
});

export interface UploadedObject {
  readonly bucket: string;
  /** The key as the event carries it (URL-encoded in S3 notifications); decode with keys.decodeEventKey. */
  readonly rawKey: string;
}

/** Accepts either shape; throws on anything else (a malformed event is a bug upstream, worth a retry/DLQ). */
export function parseUploadEvent(event: unknown): UploadedObject[] {
  const direct = S3NotificationEvent.safeParse(event);
  if (direct.success) {
    return direct.data.Records.map((record) => ({
      bucket: record.s3.bucket.name,
      rawKey: record.s3.object.key,
    }));
  }
  const bridged = S3EventBridgeEvent.safeParse(event);
  if (bridged.success)
    return [{ bucket: bridged.data.detail.bucket.name, rawKey: bridged.data.detail.object.key }];
  throw new Error(
    'submit-job: event is neither an S3 notification nor an EventBridge "Object Created" event',
  );
}

export const EVENT_SOURCE = 'plateau';
export const JOB_FINISHED_DETAIL_TYPE = 'Plateau Job Finished';

/** Detail of the completion event (and the webhook body). */
export const JobFinishedDetail = z.object({
  jobId: z.string(),
  status: JobStatus,
  stopReason: StopReason.optional(),
  steps: z.number().int().nonnegative().optional(),
  criterionStep: z.number().int().nonnegative().optional(),
  reportKey: z.string().optional(),
  artifacts: z.array(z.string()),
  error: z.string().optional(),
  finishedAt: z.iso.datetime(),
});
export type JobFinishedDetail = z.infer<typeof JobFinishedDetail>;

/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` on webhook deliveries. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-plateau-signature';
/**
 * Header carrying the delivery id, also the body's `id`: the same for every delivery of one job's outcome
 * (a retried finalize resends with it), so a receiver drops repeats by it.
 */
export const WEBHOOK_DELIVERY_HEADER = 'x-plateau-delivery';

/** The delivery id of a job's completion: its id and the moment it became final. */
export function webhookDeliveryId(detail: Pick<JobFinishedDetail, 'jobId' | 'finishedAt'>): string {
  return `${detail.jobId}@${detail.finishedAt}`;
}
/** Header carrying the unix-seconds timestamp that is part of the signed string (replay protection). */
export const WEBHOOK_TIMESTAMP_HEADER = 'x-plateau-timestamp';
