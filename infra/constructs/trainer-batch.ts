// The GPU side: a managed EC2 compute environment (GPU instance types, Spot or On-Demand, scales to 0 vCPUs),
// a job queue, and the trainer's job definition (1 GPU, the trainer image, retries when Spot reclaims a host).
import { Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env.ts';
import { guaranteedGpuMemory } from '../../shared/gpu-instances.ts';
import { TRANSIENT_EXIT_CODE } from '../../shared/transient-error.ts';
import { acknowledgeOnPrincipal, type BindingTarget } from './binding.ts';

/**
 * The trainer container's environment and role, filled by the resources' bind() calls before the job
 * definition is created (Batch renders the container properties once, at construction).
 */
export class TrainerEnvironment extends Construct implements BindingTarget {
  /** The role the trainer container runs as (the job role). */
  readonly role: iam.Role;
  readonly grantPrincipal: iam.IPrincipal;
  private readonly variables: Record<string, string> = {};

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'plateau trainer container: its job prefix in S3, its items in DynamoDB',
    });
    this.grantPrincipal = this.role;
  }

  addEnvironment(name: string, value: string): void {
    this.variables[name] = value;
  }

  /** A copy of the variables set so far. */
  get environment(): Record<string, string> {
    return { ...this.variables };
  }
}

export interface TrainerBatchProps {
  /** The network the GPU instances run in (public subnets, so no NAT gateway is needed). */
  readonly vpc: ec2.IVpc;
  /** The trainer image (built from trainer-image/Dockerfile). */
  readonly image: ecs.ContainerImage;
  /** Role and environment of the container, already bound to the bucket and table. */
  readonly environment: TrainerEnvironment;
  /**
   * EC2 instance types of the compute environment (GPU types: the job asks for 1 GPU).
   * @default ['g5.xlarge']
   */
  readonly instanceTypes?: readonly string[];
  /**
   * Spot instances (cheaper; the trainer resumes from its last checkpoint after a reclaim) or On-Demand.
   * @default true
   */
  readonly spot?: boolean;
  /**
   * Upper bound of the compute environment; the lower bound is 0, so an idle stack costs nothing.
   * @default 16
   */
  readonly maxvCpus?: number;
  /**
   * vCPUs of the trainer container.
   * @default 4
   */
  readonly vcpus?: number;
  /**
   * Memory of the trainer container in MiB (a g5.xlarge registers about 15.4 GiB with ECS).
   * @default 14336
   */
  readonly memoryMiB?: number;
  /**
   * Attempts per job; Spot reclaims (status reason "Host EC2*") are retried, any other failure exits.
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Wall-clock limit of one attempt.
   * @default Duration.hours(12)
   */
  readonly attemptTimeout?: Duration;
}

export class TrainerBatch extends Construct {
  readonly computeEnvironment: batch.ManagedEc2EcsComputeEnvironment;
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;

  constructor(scope: Construct, id: string, props: TrainerBatchProps) {
    super(scope, id);
    const spot = props.spot ?? true;
    const instanceTypeNames = props.instanceTypes ?? ['g5.xlarge'];
    const instanceTypes = instanceTypeNames.map((name) => new ec2.InstanceType(name));
    // The trainer refuses, before its first step, a job whose step would not fit the smallest GPU it may get.
    const gpuMemory = guaranteedGpuMemory(instanceTypeNames);
    this.computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'Compute', {
      ...(spot ? { launchTemplate: this.spotDrainingTemplate() } : {}),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceTypes,
      useOptimalInstanceClasses: false,
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023_NVIDIA }],
      spot,
      allocationStrategy: spot
        ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
        : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
      minvCpus: 0,
      maxvCpus: props.maxvCpus ?? 16,
      updateToLatestImageVersion: true,
    });
    this.jobQueue = new batch.JobQueue(this, 'Queue', {
      computeEnvironments: [{ computeEnvironment: this.computeEnvironment, order: 1 }],
    });
    this.jobDefinition = new batch.EcsJobDefinition(this, 'Trainer', {
      container: new batch.EcsEc2ContainerDefinition(this, 'Container', {
        image: props.image,
        cpu: props.vcpus ?? 4,
        memory: Size.mebibytes(props.memoryMiB ?? 14336),
        gpu: 1,
        jobRole: props.environment.role,
        environment: {
          ...props.environment.environment,
          ...(gpuMemory === undefined ? {} : { [ENV.GPU_MEMORY_BYTES]: String(gpuMemory) }),
        },
      }),
      retryAttempts: props.retryAttempts ?? 5,
      retryStrategies: [
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        // The trainer's temporary failures (shared/transient-error.ts): retried, resuming from the checkpoint.
        batch.RetryStrategy.of(
          batch.Action.RETRY,
          batch.Reason.custom({ onExitCode: String(TRANSIENT_EXIT_CODE) }),
        ),
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: '*' })),
      ],
      timeout: props.attemptTimeout ?? Duration.hours(12),
    });
    this.acknowledgeManagedPolicies();
  }

  /**
   * Sets ENV.JOB_QUEUE and ENV.JOB_DEFINITION and grants what submit-job calls: SubmitJob on exactly these two,
   * ListJobs (finding an orphaned submission by name; no resource-level permissions) and TerminateJob (a job whose
   * record changed during submission, a duplicate).
   */
  bindSubmit(target: BindingTarget): void {
    target.addEnvironment(ENV.JOB_QUEUE, this.jobQueue.jobQueueArn);
    target.addEnvironment(ENV.JOB_DEFINITION, this.jobDefinition.jobDefinitionArn);
    iam.Grant.addToPrincipal({
      grantee: target,
      actions: ['batch:SubmitJob'],
      resourceArns: [this.jobQueue.jobQueueArn, this.jobDefinition.jobDefinitionArn],
    });
    iam.Grant.addToPrincipal({ grantee: target, actions: ['batch:ListJobs'], resourceArns: ['*'] });
    this.grantTerminate(target);
    acknowledgeOnPrincipal(
      target,
      ['AwsSolutions-IAM5[Resource::*]'],
      'batch:ListJobs has no resource-level permissions.',
    );
  }

  /** Grants batch:DescribeJobs (which has no resource-level permissions) and batch:TerminateJob on jobs. */
  bindObserve(target: BindingTarget): void {
    iam.Grant.addToPrincipal({ grantee: target, actions: ['batch:DescribeJobs'], resourceArns: ['*'] });
    this.grantTerminate(target);
    acknowledgeOnPrincipal(
      target,
      ['AwsSolutions-IAM5[Resource::*]'],
      'batch:DescribeJobs has no resource-level permissions.',
    );
  }

  private grantTerminate(target: BindingTarget): void {
    iam.Grant.addToPrincipal({
      grantee: target,
      actions: ['batch:TerminateJob'],
      resourceArns: [Stack.of(this).formatArn({ service: 'batch', resource: 'job', resourceName: '*' })],
    });
    acknowledgeOnPrincipal(
      target,
      ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*]'],
      'TerminateJob targets Batch job ids created at run time.',
    );
  }

  private acknowledgeManagedPolicies(): void {
    const container = this.jobDefinition.container;
    acknowledgeOnPrincipal(
      container.executionRole,
      [
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/batch/job:*]',
      ],
      'The ECS execution role CDK creates: ecr:GetAuthorizationToken only works on *, and Batch writes container logs to streams it names at run time in /aws/batch/job.',
    );
    Validations.of(this.computeEnvironment).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
      reason:
        'The ECS container instance role is the AWS-maintained policy Batch documents for EC2 compute environments.',
    });
  }

  /**
   * A Spot reclaim reaches the trainer as SIGTERM only when the ECS agent drains the instance on the two-minute
   * interruption notice; without it the container can be killed outright and lose the steps since its last
   * checkpoint. Batch wants launch-template user data as MIME multipart.
   */
  private spotDrainingTemplate(): ec2.LaunchTemplate {
    const agentConfig = ec2.UserData.forLinux();
    agentConfig.addCommands('echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config');
    const userData = new ec2.MultipartUserData();
    userData.addUserDataPart(agentConfig, ec2.MultipartBody.SHELL_SCRIPT, true);
    return new ec2.LaunchTemplate(this, 'SpotDraining', { userData });
  }
}
