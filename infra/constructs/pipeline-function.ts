// One pipeline Lambda: a NodejsFunction bundled by esbuild from functions/<name>/handler.ts, Node.js 22 on
// ARM64, with its own log group and retention so logs never pile up in an unmanaged group.
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface PipelineFunctionProps {
  /** Repository root: the entry path, the lockfile and esbuild's working directory are relative to it. */
  readonly projectRoot: string;
  /** The handler module, relative to projectRoot, exporting `handler` (e.g. functions/submit-job/handler.ts). */
  readonly entry: string;
  /**
   * Function timeout.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MiB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Extra environment variables (names from shared/env.ts); resources add theirs through bind().
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Adds the AWS Parameters and Secrets Lambda Extension (secrets read over localhost, no SDK bundled).
   * @default false
   */
  readonly secretsExtension?: boolean;
}

/** How every Lambda is bundled (esbuild); exported so a test bundles the handlers with exactly these options. */
export const LAMBDA_BUNDLING = {
  // The Node.js 22 runtime ships AWS SDK v3; bundling everything else keeps cold starts small.
  externalModules: ['@aws-sdk/*'],
  minify: true,
  sourceMap: true,
  target: 'node22',
  // ES module output: the sources are ESM, and finalize's chart library (vega) uses top-level await, which a
  // CommonJS bundle cannot hold. Bundled CommonJS dependencies still call require(), so the banner gives the
  // module one.
  format: nodejs.OutputFormat.ESM,
  mainFields: ['module', 'main'],
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
} as const satisfies nodejs.BundlingOptions;

export class PipelineFunction extends Construct {
  /** The Lambda function. */
  readonly fn: nodejs.NodejsFunction;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role, allowed to write to its own log group only (instead of the managed
    // AWSLambdaBasicExecutionRole, which allows every log group in the account).
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(role);
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      role,
      entry: join(props.projectRoot, props.entry),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      logGroup: this.logGroup,
      ...(props.secretsExtension
        ? {
            paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(
              lambda.ParamsAndSecretsVersions.V1_0_103,
            ),
          }
        : {}),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: LAMBDA_BUNDLING,
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is pinned on purpose: it is the runtime the whole project is written and tested against.',
    });
  }
}
