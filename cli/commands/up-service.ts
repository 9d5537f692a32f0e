// The `plateau up` service: starts the embedded pipeline, preloads base models, prints the ready line, and
// shuts everything down when told to stop. Kept apart from up.ts so the CLI loads it only for `up`.
// It also serves the web console (console/) on 127.0.0.1 over the same stores the handlers use.
import { basename } from 'node:path';
import { type ConsoleServer, startConsole } from '../../console/console-server.ts';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../infra/embedded/embedded-pipeline.ts';
import { redrivePipeline } from '../../infra/embedded/redrive.ts';
import { MODELS_PREFIX } from '../../shared/keys.ts';
import type { CliIo } from '../command.ts';
import { defaultModelDir, MODEL_TRAINING, projectRoot } from '../project-files.ts';

/** `plateau up`'s settings (parsed by up.ts). */
export interface UpOptions {
  readonly json: boolean;
  readonly stateDir?: string;
  readonly models: readonly string[];
  readonly verbose: boolean;
  /** The web console's port; any free one when absent. */
  readonly consolePort?: number;
  /** Trainers run at once (the rest queue); absent: PLATEAU_LOCAL_MAX_TRAINERS, else what the machine holds. */
  readonly maxTrainers?: number;
}

/** The one line `--json` prints when the service is ready (with the console's URL when it serves one). */
export function readyLine(pipeline: EmbeddedPipeline, web?: ConsoleServer) {
  const { aws } = pipeline;
  return {
    ...(web ? { consoleUrl: web.url } : {}),
    s3Endpoint: aws.s3Endpoint,
    dynamodbEndpoint: aws.dynamodbEndpoint,
    region: aws.region,
    bucket: aws.bucket,
    table: aws.table,
    accessKeyId: aws.credentials.accessKeyId,
    secretAccessKey: aws.credentials.secretAccessKey,
  };
}

/** Starts the service, preloads models, reports readiness, and stops when `until` resolves. */
export async function runUp(options: UpOptions, io: CliIo, until: Promise<unknown>): Promise<number> {
  const pipeline = await startEmbeddedPipeline({
    projectRoot: projectRoot(io),
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    ...(options.maxTrainers === undefined ? {} : { maxTrainers: options.maxTrainers }),
    log: (line) => {
      if (options.verbose || line.startsWith('[submit-job]')) io.err.write(`${line}\n`);
    },
  });
  let web: ConsoleServer | undefined;
  try {
    web = await startConsole({
      projectRoot: projectRoot(io),
      stores: pipeline.stores,
      modelTraining: MODEL_TRAINING,
      ...(options.consolePort === undefined ? {} : { port: options.consolePort }),
      log: (line) => io.err.write(`${line}\n`),
    });
    // The embedded default model is always there, so `plateau submit` without --model works against this stack.
    const defaultModel = defaultModelDir(projectRoot(io));
    for (const dir of [defaultModel, ...options.models.filter((dir) => dir !== defaultModel)]) {
      const name = basename(dir);
      const count = await pipeline.uploadFolder(dir, `${MODELS_PREFIX}${name}/`);
      io.err.write(
        `plateau up: loaded model ${name} (${count} files) into s3://${pipeline.aws.bucket}/${MODELS_PREFIX}${name}/\n`,
      );
    }
    // Saved state: the jobs the last run left non-final get a trainer (resuming its checkpoint) and a monitor again.
    if (options.stateDir) await redrivePipeline(pipeline, (line) => io.err.write(`plateau up: ${line}\n`));
    const ready = readyLine(pipeline, web);
    if (options.json) io.out.write(`${JSON.stringify(ready)}\n`);
    else {
      io.out.write(
        [
          'plateau up: the embedded pipeline is running.',
          `Web console (this machine only): ${ready.consoleUrl}`,
          'Or point any S3 client at it:',
          `  export AWS_ENDPOINT_URL_S3=${ready.s3Endpoint} AWS_ENDPOINT_URL_DYNAMODB=${ready.dynamodbEndpoint}`,
          `  export AWS_REGION=${ready.region} AWS_ACCESS_KEY_ID=${ready.accessKeyId} AWS_SECRET_ACCESS_KEY=${ready.secretAccessKey}`,
          `  aws s3 sync <model dir> s3://${ready.bucket}/models/<name>/`,
          `  aws s3 cp <images> s3://${ready.bucket}/jobs/<jobId>/input/images/ --recursive`,
          `  aws s3 cp job.json s3://${ready.bucket}/jobs/<jobId>/input/job.json`,
          'Stop with Ctrl-C.',
          '',
        ].join('\n'),
      );
    }
    await until;
    io.err.write('plateau up: stopping\n');
    return 0;
  } finally {
    await web?.close();
    await pipeline.close();
  }
}
