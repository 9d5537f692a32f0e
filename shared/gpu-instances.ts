// The single-GPU instance types a training job may run on and their usable GPU memory: the one table the CDK stack
// (which tells the trainer the memory of the instances it may get) and the trainer's fit check read.
export interface TrainingGpu {
  readonly instance: string;
  readonly gpu: string;
  /** Usable GPU memory in bytes (the nominal size less what the driver reserves). */
  readonly memoryBytes: number;
}

const GiB = 2 ** 30;

/** Smallest memory first (nominal 16/24/48/80 GB, ~0.5 GiB reserved by the driver). */
export const TRAINING_GPUS: readonly TrainingGpu[] = [
  { instance: 'g4dn.xlarge', gpu: 'T4 16 GB', memoryBytes: 14.5 * GiB },
  { instance: 'g5.xlarge', gpu: 'A10G 24 GB', memoryBytes: 22 * GiB },
  { instance: 'g6.xlarge', gpu: 'L4 24 GB', memoryBytes: 22 * GiB },
  { instance: 'g6e.xlarge', gpu: 'L40S 48 GB', memoryBytes: 44.5 * GiB },
  { instance: 'p4de.24xlarge (1 of 8)', gpu: 'A100 80 GB', memoryBytes: 79 * GiB },
];

/**
 * The GPU memory a job can count on when Batch may place it on any of `instanceTypes`: the smallest of theirs, or
 * undefined when one of them is not in the table (then nothing is promised and the trainer does not check).
 */
export function guaranteedGpuMemory(instanceTypes: readonly string[]): number | undefined {
  let least: number | undefined;
  for (const type of instanceTypes) {
    const gpu = TRAINING_GPUS.find((g) => g.instance === type || g.instance.startsWith(`${type} `));
    if (!gpu) return undefined;
    least = least === undefined ? gpu.memoryBytes : Math.min(least, gpu.memoryBytes);
  }
  return least;
}
