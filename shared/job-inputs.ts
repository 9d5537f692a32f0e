// The inputs a job was accepted with, pinned on its record at submit: each image's key, size and ETag. The
// trainer reads exactly these (by ETag), so a re-upload under a running job fails it instead of mixing inputs.
import { z } from 'zod';

export const PinnedImage = z.object({
  key: z.string(),
  size: z.number().int().nonnegative(),
  /** Absent only where the store reports none; then the size alone is checked. */
  etag: z.string().optional(),
});
export type PinnedImage = z.infer<typeof PinnedImage>;

export const JobInputs = z.object({ images: z.array(PinnedImage).min(1) });
export type JobInputs = z.infer<typeof JobInputs>;

/** The prefix of every reason a job fails with because what it was given changed after submit. */
export const INPUTS_CHANGED = 'inputs changed';

export function inputsChangedReason(detail: string): string {
  return `${INPUTS_CHANGED}: ${detail}`;
}
