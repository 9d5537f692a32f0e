// Where `plateau submit|status|watch|cancel` find a stack: the embedded one (the line `plateau up --json`
// prints, given inline or as a file, by --stack or PLATEAU_STACK) or a deployed one (--bucket/--table or
// PLATEAU_BUCKET/PLATEAU_TABLE, with the AWS SDK's own region, credentials chain and endpoint variables).
// No SDK here: open-stack.ts builds the clients, loaded only when a command runs.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../command.ts';

/** The CLI's own environment variables (the SDK reads AWS_REGION, AWS_ENDPOINT_URL_S3, … itself). */
export const STACK_ENV = {
  stack: 'PLATEAU_STACK',
  bucket: 'PLATEAU_BUCKET',
  table: 'PLATEAU_TABLE',
} as const;

/** parseArgs options every stack command accepts. */
export const STACK_OPTIONS = {
  stack: { type: 'string' },
  bucket: { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
} as const;

export const STACK_USAGE =
  '[--stack <plateau up --json line or file>] [--bucket <name> --table <name>] [--region <r>]';

/** `plateau up --json`'s ready line. */
const ReadyLine = z.object({
  s3Endpoint: z.string(),
  dynamodbEndpoint: z.string(),
  region: z.string(),
  bucket: z.string(),
  table: z.string(),
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
});

export interface StackTarget {
  readonly bucket: string;
  readonly table: string;
  readonly region?: string;
  readonly s3Endpoint?: string;
  readonly dynamodbEndpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

type Values = { readonly [K in keyof typeof STACK_OPTIONS]?: string | boolean | undefined };

function readyLine(text: string, from: string): StackTarget {
  const trimmed = text.trim();
  let source = trimmed;
  if (!trimmed.startsWith('{')) {
    try {
      source = readFileSync(trimmed, 'utf8').trim().split('\n')[0] ?? '';
    } catch {
      throw new UsageError(
        `${from}: neither a JSON ready line nor a readable file (${trimmed.slice(0, 80)})`,
      );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch {
    throw new UsageError(`${from}: not JSON (expected the line \`plateau up --json\` prints)`);
  }
  const parsed = ReadyLine.safeParse(json);
  if (!parsed.success)
    throw new UsageError(`${from}: ${parsed.error.issues[0]?.message ?? 'bad ready line'}`);
  const line = parsed.data;
  return {
    bucket: line.bucket,
    table: line.table,
    region: line.region,
    s3Endpoint: line.s3Endpoint,
    dynamodbEndpoint: line.dynamodbEndpoint,
    credentials: { accessKeyId: line.accessKeyId, secretAccessKey: line.secretAccessKey },
  };
}

/** Flags first, then the environment; a ready line gives everything, names alone use the SDK's defaults. */
export function resolveStackTarget(values: Values, env: NodeJS.ProcessEnv = process.env): StackTarget {
  const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const stack = str(values.stack) ?? str(env[STACK_ENV.stack]);
  const region = str(values.region);
  if (stack !== undefined) {
    const target = readyLine(stack, values.stack ? '--stack' : STACK_ENV.stack);
    return region ? { ...target, region } : target;
  }
  const bucket = str(values.bucket) ?? str(env[STACK_ENV.bucket]);
  const table = str(values.table) ?? str(env[STACK_ENV.table]);
  if (!bucket || !table) {
    throw new UsageError(
      `no stack: pass --stack (or ${STACK_ENV.stack}) with the line \`plateau up --json\` printed, or ` +
        `--bucket and --table (or ${STACK_ENV.bucket} and ${STACK_ENV.table}) of a deployed stack`,
    );
  }
  return { bucket, table, ...(region ? { region } : {}) };
}
