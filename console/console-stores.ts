// The stores the console reads and writes: the same ports (and, in `plateau up`, the same adapter instances)
// the pipeline's handlers and the CLI use — the bucket, the job records and the loss samples.
import type { JobStore } from '../shared/job-record.ts';
import type { ObjectStore } from '../shared/pipeline-ports.ts';
import type { SampleReader } from '../shared/samples.ts';

export interface ConsoleStores {
  readonly objects: ObjectStore;
  readonly jobs: JobStore;
  readonly samples: SampleReader;
}
