// report.json (`jobs/<jobId>/output/report.json`): what a run cost and why it stopped. The trainer may write
// a partial report first (its own fields are kept); finalize completes it with the pipeline's view.
import { z } from 'zod';
import { JobStatus, StopReason } from './job-record.ts';

export const REPORT_VERSION = 1;

export const Report = z.looseObject({
  version: z.literal(REPORT_VERSION),
  jobId: z.string(),
  status: JobStatus,
  method: z.string(),
  token: z.string(),
  baseModel: z.string(),
  stopReason: StopReason,
  /** Steps trained (last step + 1). */
  steps: z.number().int().nonnegative(),
  lastStep: z.number().int().nonnegative().nullable(),
  /** The step at which DVAR first held; null when it never did (criterion none, max steps, cancel). */
  criterionStep: z.number().int().nonnegative().nullable(),
  /** Steps trained after the criterion step: last step trained − criterion step. */
  stopLatencySteps: z.number().int().nonnegative().nullable(),
  /** stopLatencySteps / criterionStep (target ≤ 0.02). */
  stopLatencyFraction: z.number().nonnegative().nullable(),
  maxSteps: z.number().int().positive(),
  dvar: z.object({
    criterion: z.enum(['dvar', 'none']),
    window: z.number().int(),
    threshold: z.number(),
    evalBatchSize: z.number().int(),
    evalEvery: z.number().int(),
    /** var(last W) / var(all) over the whole stored history; null before W values. */
    finalRatio: z.number().nullable(),
  }),
  timings: z.object({
    createdAt: z.iso.datetime(),
    /** First Batch attempt start (ms precision). */
    trainerStartedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime(),
    /** Trainer wall time: first attempt start → last attempt stop. */
    wallSeconds: z.number().nonnegative(),
    /** Sum of every attempt's run time (Spot reclaims included): what the GPU was paid for. */
    gpuSeconds: z.number().nonnegative(),
    /** Upload → finalize. */
    pipelineSeconds: z.number().nonnegative(),
    attempts: z.number().int().nonnegative(),
    /** Prior preservation: seconds spent on class images before training (in gpuSeconds, not in training). */
    classImagesSeconds: z.number().nonnegative().optional(),
  }),
  /** Prior preservation's class images, written by the trainer (trainer-image/src/train/trainer-report.ts). */
  classImages: z
    .object({
      count: z.number().int().nonnegative(),
      generated: z.number().int().nonnegative(),
      seconds: z.number().nonnegative(),
    })
    .optional(),
  /**
   * What stopping early saved against the fixed budget, in steps and training time (shared/savings.ts). Optional
   * only so reports written before it existed still parse; finalize always writes it.
   */
  savings: z
    .object({
      stepsTrained: z.number().int().nonnegative(),
      budgetSteps: z.number().int().positive(),
      stepsSaved: z.number().int().nonnegative(),
      gpuSeconds: z.number().nonnegative(),
      fullBudgetGpuSeconds: z.number().nonnegative(),
      savedFraction: z.number(),
      secondsPerStep: z.number().nonnegative().nullable(),
    })
    .optional(),
  /** An estimate at an hourly GPU price (the stack's instance price unless the user set one), not a bill. */
  cost: z.object({
    gpuHourPriceUsd: z.number().nonnegative(),
    estimatedUsd: z.number().nonnegative(),
    /** The same job trained for the full fixed budget (maxSteps) at this run's pace. */
    fullBudgetUsd: z.number().nonnegative(),
    /** 1 − estimated / fullBudget (the same fraction as savings.savedFraction). */
    savedFraction: z.number(),
    /** Says the figures are an estimate and at what price (absent in reports from before it existed). */
    note: z.string().optional(),
  }),
  artifacts: z.object({
    embedding: z.string(),
    /** Every file of the job's method (the token file first), e.g. `<token>-lora.safetensors` for LoRA. */
    outputs: z.array(z.string()).default([]),
    lossChart: z.string(),
    samples: z.array(z.string()),
  }),
});
export type Report = z.infer<typeof Report>;
