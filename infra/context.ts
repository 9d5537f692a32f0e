// Stack options from CDK context (`-c key=value` arrives as a string, cdk.json values as JSON), validated
// so a typo fails the synth with a message instead of deploying the wrong GPU fleet.
import { z } from 'zod';

const boolish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const positive = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d+(\.\d+)?$/)
      .transform(Number),
  ])
  .pipe(z.number().positive());
const instanceTypes = z
  .union([z.array(z.string()), z.string().transform((v) => v.split(','))])
  .transform((list) => list.map((name) => name.trim()).filter((name) => name.length > 0))
  .pipe(
    z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type like g5.xlarge')).min(1),
  );

const StackContext = z.object({
  instanceTypes: instanceTypes.optional(),
  spot: boolish.optional(),
  maxvCpus: positive.pipe(z.number().int()).optional(),
  gpuHourPriceUsd: positive.optional(),
  sampleTtlDays: positive.pipe(z.number().int()).optional(),
});

export interface StackContext {
  readonly instanceTypes?: readonly string[];
  readonly spot?: boolean;
  readonly maxvCpus?: number;
  readonly gpuHourPriceUsd?: number;
  readonly sampleTtlDays?: number;
}

/** Reads the known keys through `get` (e.g. app.node.tryGetContext) and drops the unset ones. */
export function readStackContext(get: (key: string) => unknown): StackContext {
  const raw = Object.fromEntries(
    Object.keys(StackContext.shape)
      .map((key) => [key, get(key)] as const)
      .filter(([, value]) => value !== undefined),
  );
  const parsed = StackContext.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `bad CDK context: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as StackContext;
}
