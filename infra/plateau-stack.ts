// The plateau stack: bucket → submit-job → Batch GPU trainer + monitor state machine (evaluate-stop,
// request-stop, finalize) → EventBridge completion event. Wiring only; each concern is its own construct.
import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { ENV } from '../shared/env.ts';
import { DEFAULT_GPU_HOUR_PRICE_USD } from '../shared/savings.ts';
import { OBJECT_ACCESS, TABLE_ACCESS } from './constructs/access.ts';
import { CompletionEvents } from './constructs/completion-events.ts';
import { JobBucket } from './constructs/job-bucket.ts';
import { JobTable } from './constructs/job-table.ts';
import { MonitorStateMachine } from './constructs/monitor-state-machine.ts';
import { PipelineFunction } from './constructs/pipeline-function.ts';
import { SubmissionReconciler } from './constructs/submission-reconciler.ts';
import { TrainerBatch, TrainerEnvironment } from './constructs/trainer-batch.ts';
import { trainerImage } from './constructs/trainer-image.ts';
import { WebhookSecret } from './constructs/webhook-secret.ts';
import { trainerSettings } from './trainer-settings.ts';

export interface PlateauStackProps extends StackProps {
  /** Repository root (Lambda entries, lockfile, Docker build context). */
  readonly projectRoot: string;
  /**
   * GPU instance types of the Batch compute environment.
   * @default ['g5.xlarge']
   */
  readonly instanceTypes?: readonly string[];
  /**
   * Spot (true) or On-Demand (false) GPU instances.
   * @default true
   */
  readonly spot?: boolean;
  /**
   * Maximum vCPUs of the compute environment (4 per g5.xlarge job).
   * @default 16
   */
  readonly maxvCpus?: number;
  /**
   * Price of one GPU-hour in USD for report.json's cost estimate.
   * @default 0.45 with Spot, 1.006 On-Demand (g5.xlarge, us-east-1)
   */
  readonly gpuHourPriceUsd?: number;
  /**
   * Days loss samples are kept before DynamoDB's TTL deletes them.
   * @default 30
   */
  readonly sampleTtlDays?: number;
  /**
   * How long a trainer may wait RUNNABLE (no GPU instance for it: quota or Spot capacity) before its job fails
   * "no capacity".
   * @default Duration.hours(1)
   */
  readonly runnableLimit?: Duration;
  /**
   * The trainer image; tests pass a registry image so no Docker asset is staged.
   * @default - built from trainer-image/Dockerfile
   */
  readonly trainerImage?: ecs.ContainerImage;
}

export class PlateauStack extends Stack {
  readonly bucket: JobBucket;
  readonly table: JobTable;
  readonly trainer: TrainerBatch;
  readonly monitor: MonitorStateMachine;
  readonly events: CompletionEvents;
  readonly functions: {
    readonly submitJob: PipelineFunction;
    readonly evaluateStop: PipelineFunction;
    readonly requestStop: PipelineFunction;
    readonly finalize: PipelineFunction;
  };

  constructor(scope: Construct, id: string, props: PlateauStackProps) {
    super(scope, id, props);
    const spot = props.spot ?? true;
    const sampleTtlDays = String(props.sampleTtlDays ?? 30);
    this.bucket = new JobBucket(this, 'Jobs');
    this.table = new JobTable(this, 'State');
    this.events = new CompletionEvents(this, 'Events');
    const webhookSecret = new WebhookSecret(this, 'Webhook');

    // Public subnets only: GPU instances reach ECR through their public IP, S3 and DynamoDB through free
    // gateway endpoints; no NAT gateway to pay for while the stack idles at 0 vCPUs.
    const vpc = new ec2.Vpc(this, 'Network', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });

    const trainerEnv = new TrainerEnvironment(this, 'TrainerEnv');
    this.bucket.bind(trainerEnv, OBJECT_ACCESS.trainer);
    this.table.bind(trainerEnv, TABLE_ACCESS.trainer);
    for (const [name, value] of Object.entries(trainerSettings({ sampleTtlDays: props.sampleTtlDays }))) {
      trainerEnv.addEnvironment(name, value);
    }
    this.trainer = new TrainerBatch(this, 'Trainer', {
      vpc,
      image: props.trainerImage ?? trainerImage(props.projectRoot),
      environment: trainerEnv,
      spot,
      ...(props.instanceTypes ? { instanceTypes: props.instanceTypes } : {}),
      ...(props.maxvCpus ? { maxvCpus: props.maxvCpus } : {}),
    });

    const fn = (name: string, timeout: Duration, memorySize = 512, secretsExtension = false) =>
      new PipelineFunction(this, name, {
        projectRoot: props.projectRoot,
        entry: `functions/${kebab(name)}/handler.ts`,
        timeout,
        memorySize,
        secretsExtension,
      });
    this.functions = {
      submitJob: fn('SubmitJob', Duration.seconds(120), 1024),
      evaluateStop: fn('EvaluateStop', Duration.seconds(30)),
      requestStop: fn('RequestStop', Duration.seconds(15)),
      // finalize reads the webhook key through the Parameters and Secrets extension (shared/aws/secret-source.ts).
      finalize: fn('Finalize', Duration.seconds(240), 1024, true),
    };
    const { submitJob, evaluateStop, requestStop, finalize } = this.functions;

    this.monitor = new MonitorStateMachine(this, 'Monitor', {
      functions: { evaluateStop: evaluateStop.fn, requestStop: requestStop.fn, finalize: finalize.fn },
    });

    this.bucket.bind(submitJob.fn, OBJECT_ACCESS.submitJob);
    this.table.bind(submitJob.fn, TABLE_ACCESS.submitJob);
    this.trainer.bindSubmit(submitJob.fn);
    this.monitor.bind(submitJob.fn);
    submitJob.fn.addEnvironment(ENV.SAMPLE_TTL_DAYS, sampleTtlDays);
    this.bucket.notifyManifestUploads(submitJob.fn);
    new SubmissionReconciler(this, 'SubmissionReconciler', { submitJob: submitJob.fn });

    this.table.bind(evaluateStop.fn, TABLE_ACCESS.evaluateStop);
    evaluateStop.fn.addEnvironment(
      ENV.RUNNABLE_LIMIT_SECONDS,
      String((props.runnableLimit ?? Duration.hours(1)).toSeconds()),
    );
    this.trainer.bindObserve(evaluateStop.fn);

    this.table.bind(requestStop.fn, TABLE_ACCESS.requestStop);

    this.bucket.bind(finalize.fn, OBJECT_ACCESS.finalize);
    this.table.bind(finalize.fn, TABLE_ACCESS.finalize);
    this.trainer.bindObserve(finalize.fn);
    this.events.bind(finalize.fn);
    webhookSecret.bind(finalize.fn);
    finalize.fn.addEnvironment(
      ENV.GPU_HOUR_PRICE_USD,
      String(props.gpuHourPriceUsd ?? DEFAULT_GPU_HOUR_PRICE_USD[spot ? 'spot' : 'onDemand']),
    );

    const notifications = this.node.tryFindChild(
      'BucketNotificationsHandler050a0587b7544547bf325f094a3db834',
    );
    if (notifications) {
      Validations.of(notifications).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "CDK's singleton that configures the bucket notification at deploy time; it only writes its logs.",
      });
      Validations.of(notifications).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "CDK's bucket-notification custom resource needs s3:PutBucketNotification, which it scopes itself.",
      });
    }

    new CfnOutput(this, 'BucketName', { value: this.bucket.bucket.bucketName });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.monitor.stateMachine.stateMachineArn });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'JobQueueArn', { value: this.trainer.jobQueue.jobQueueArn });
  }
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
