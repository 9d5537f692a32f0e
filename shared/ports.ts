// Ports: the interfaces the trainer and the Lambda logic depend on. Adapters implement them for AWS
// (shared/aws/), for local files (standalone `plateau train`) and in memory (tests).

/** One per-step record of training, keyed by (jobId, step); a rewrite after resume overwrites. */
export interface LossSample {
  readonly step: number;
  /** Deterministic loss on the fixed evaluation batch (DVAR's input); absent on steps not evaluated. */
  readonly detLoss?: number;
  readonly trainLoss: number;
  readonly lr: number;
  /** Wall-clock time the step finished, ms since the epoch. */
  readonly wallTimeMs: number;
}

/** Where the trainer streams its samples. `flush` makes everything written so far durable. */
export interface SampleSink {
  write(sample: LossSample): Promise<void>;
  flush(): Promise<void>;
  /**
   * Deletes the stored samples at or after `step`: a resumed attempt drops what a lost one wrote past its
   * checkpoint, so the samples only ever describe steps the run that continues has trained. Optional: a sink
   * whose file starts afresh on every run has nothing to drop.
   */
  discardFrom?(step: number): Promise<void>;
}

/** What a stop check found. */
export interface StopCheck {
  readonly stop: boolean;
  readonly reason?: string;
  /**
   * For a criterion stop, the step at which the criterion held: the trainer trains through it before stopping (a
   * resumed attempt may start before it when the monitor decided on the samples of a lost attempt).
   */
  readonly criterionStep?: number;
}

/** Asked at every flush whether the monitor (or a cancel) wants the trainer to stop. */
export interface StopSignal {
  check(): Promise<StopCheck>;
}

/** Blob storage for checkpoints and outputs, addressed by keys relative to the job's prefix. */
export interface ArtifactStore {
  put(key: string, body: Uint8Array, contentType?: string): Promise<void>;
  /** Returns undefined when the key does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<string[]>;
}
