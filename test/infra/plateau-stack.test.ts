// The synthesized stack's properties that matter (security, runtime, GPU batch, monitor loop) and the
// cdk-nag AwsSolutions pack. One stack instance for the whole file; NodejsFunction bundling is skipped via
// the `aws:cdk:bundling-stacks` context (esbuild would add ~1 s per function and proves nothing here).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { WAIT_POLICY } from '../../functions/evaluate-stop/evaluate-stop.ts';
import { LOCAL_ARNS, monitorAsl, resolveIntrinsics } from '../../infra/monitor-asl.ts';
import { PlateauStack } from '../../infra/plateau-stack.ts';
import { ENV } from '../../shared/env.ts';

const projectRoot = process.cwd();
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new PlateauStack(app, 'Plateau', { projectRoot, instanceTypes: ['g5.xlarge', 'g6.xlarge'] });
const template = Template.fromStack(stack);

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const resources = template.toJSON().Resources as Resources;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('bucket', () => {
  it('blocks public access, encrypts, and denies non-TLS requests', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('expires tagged checkpoints and notifies submit-job of job.json uploads under jobs/', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: 'jobs/',
            TagFilters: [{ Key: 'plateau-kind', Value: 'checkpoint' }],
            ExpirationInDays: 14,
            Status: 'Enabled',
          }),
        ]),
      },
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: {
              Key: {
                FilterRules: Match.arrayWith([
                  { Name: 'suffix', Value: 'input/job.json' },
                  { Name: 'prefix', Value: 'jobs/' },
                ]),
              },
            },
            LambdaFunctionArn: { 'Fn::GetAtt': [logicalIdOf(stack.functions.submitJob.fn), 'Arn'] },
          },
        ],
      },
    });
  });
});

describe('table', () => {
  it('is on-demand with TTL on expiresAt and point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });
});

describe('lambdas', () => {
  const pipeline = Object.values(stack.functions).map((f) => logicalIdOf(f.fn));

  it('run Node.js 22 on ARM64 with their own log groups', () => {
    expect(pipeline).toHaveLength(4);
    for (const id of pipeline) {
      const props = resources[id]?.Properties ?? {};
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.LoggingConfig).toEqual({ LogGroup: expect.objectContaining({ Ref: expect.any(String) }) });
    }
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 5);
  });

  it('run submit-job on a 5-minute schedule too: the reconciler of submissions that died mid-way', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalIdOf(stack.functions.submitJob.fn), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
  });

  it('get exactly the environment their handlers read', () => {
    const envOf = (f: { fn: { node: { defaultChild?: unknown } } }) => {
      const environment = resources[logicalIdOf(f.fn)]?.Properties.Environment as
        | { Variables: Record<string, unknown> }
        | undefined;
      return Object.keys(environment?.Variables ?? {}).sort();
    };
    const { submitJob, evaluateStop, requestStop, finalize } = stack.functions;
    expect(envOf(submitJob)).toEqual(
      expect.arrayContaining([
        ENV.BUCKET,
        ENV.TABLE,
        ENV.JOB_QUEUE,
        ENV.JOB_DEFINITION,
        ENV.STATE_MACHINE_ARN,
      ]),
    );
    expect(envOf(evaluateStop)).toEqual(expect.arrayContaining([ENV.RUNNABLE_LIMIT_SECONDS, ENV.TABLE]));
    const evaluateEnv = resources[logicalIdOf(evaluateStop.fn)]?.Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(evaluateEnv.Variables[ENV.RUNNABLE_LIMIT_SECONDS]).toBe('3600');
    expect(envOf(requestStop)).toContain(ENV.TABLE);
    expect(envOf(finalize)).toEqual(
      expect.arrayContaining([
        ENV.BUCKET,
        ENV.TABLE,
        ENV.EVENT_BUS,
        ENV.GPU_HOUR_PRICE_USD,
        ENV.WEBHOOK_SECRET_ARN,
      ]),
    );
    expect(resources[logicalIdOf(finalize.fn)]?.Properties.Layers).toHaveLength(1);
  });

  it('grant least privilege: only submit-job submits Batch jobs, the monitor checks have no S3 access', () => {
    const policyOf = (f: { fn: { role?: unknown } }) => {
      const roleId = stack.getLogicalId((f.fn.role as { node: { defaultChild: never } }).node.defaultChild);
      const policies = ofType('AWS::IAM::Policy').filter(([, p]) =>
        JSON.stringify(p.Properties.Roles).includes(roleId),
      );
      return JSON.stringify(policies.map(([, p]) => p.Properties.PolicyDocument));
    };
    const { submitJob, evaluateStop, requestStop, finalize } = stack.functions;
    expect(policyOf(submitJob)).toContain('batch:SubmitJob');
    expect(policyOf(submitJob)).toContain('states:StartExecution');
    expect(policyOf(submitJob)).not.toContain('s3:PutObject');
    for (const f of [evaluateStop, requestStop, finalize])
      expect(policyOf(f)).not.toContain('batch:SubmitJob');
    expect(policyOf(requestStop)).not.toContain('s3:');
    expect(policyOf(evaluateStop)).not.toContain('s3:');
    expect(policyOf(finalize)).toContain('events:PutEvents');
    expect(policyOf(finalize)).toContain('secretsmanager:GetSecretValue');
    for (const f of Object.values(stack.functions)) expect(policyOf(f)).not.toMatch(/"s3:\*"|"dynamodb:\*"/);
  });
});

describe('batch', () => {
  it('scales GPU Spot instances from 0 vCPUs with the instance types from context', () => {
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      Type: 'managed',
      ComputeResources: Match.objectLike({
        Type: 'SPOT',
        MinvCpus: 0,
        MaxvCpus: 16,
        InstanceTypes: ['g5.xlarge', 'g6.xlarge'],
        AllocationStrategy: 'SPOT_PRICE_CAPACITY_OPTIMIZED',
        Ec2Configuration: [{ ImageType: 'ECS_AL2023_NVIDIA' }],
      }),
    });
    template.resourceCountIs('AWS::Batch::JobQueue', 1);
  });

  it('drains Spot instances on the interruption notice, so a reclaim reaches the trainer as SIGTERM', () => {
    const [[templateId, launchTemplate] = []] = ofType('AWS::EC2::LaunchTemplate');
    const userData = JSON.stringify(launchTemplate?.Properties);
    expect(userData).toContain('ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config');
    expect(userData).toContain('multipart/mixed');
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({
        LaunchTemplate: Match.objectLike({ LaunchTemplateId: { Ref: templateId } }),
      }),
    });
  });

  it('defines the trainer with 1 GPU, its environment, and retries on Spot reclaim only', () => {
    template.hasResourceProperties('AWS::Batch::JobDefinition', {
      Type: 'container',
      ContainerProperties: Match.objectLike({
        ResourceRequirements: Match.arrayWith([{ Type: 'GPU', Value: '1' }]),
        Environment: Match.arrayWith([
          Match.objectLike({ Name: ENV.BUCKET }),
          Match.objectLike({ Name: ENV.TABLE }),
          { Name: ENV.MODEL_CACHE_DIR, Value: '/var/cache/plateau/models' },
          // g5.xlarge's A10G (shared/gpu-instances.ts): the trainer refuses jobs that would not fit it.
          { Name: ENV.GPU_MEMORY_BYTES, Value: String(22 * 2 ** 30) },
        ]),
        Image: Match.objectLike({ 'Fn::Sub': Match.stringLikeRegexp('cdk-hnb659fds-container-assets') }),
        JobRoleArn: Match.anyValue(),
      }),
      RetryStrategy: {
        Attempts: 5,
        EvaluateOnExit: [
          { Action: 'RETRY', OnStatusReason: 'Host EC2*' },
          { Action: 'RETRY', OnExitCode: '75' },
          { Action: 'EXIT', OnReason: '*' },
        ],
      },
    });
  });
});

describe('monitor state machine', () => {
  const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0] ?? [];
  // Map each Lambda's Fn::GetAtt to the ARN the embedded runtime uses, then compare with monitorAsl().
  const localArnOf: Record<string, string> = {
    [logicalIdOf(stack.functions.evaluateStop.fn)]: LOCAL_ARNS.evaluateStop,
    [logicalIdOf(stack.functions.requestStop.fn)]: LOCAL_ARNS.requestStop,
    [logicalIdOf(stack.functions.finalize.fn)]: LOCAL_ARNS.finalize,
  };
  const deployed = JSON.parse(
    String(
      resolveIntrinsics(machine?.Properties.DefinitionString, (id, attribute) => {
        const arn = localArnOf[id];
        if (attribute !== 'Arn' || !arn) throw new Error(`unexpected GetAtt ${id}.${attribute}`);
        return arn;
      }),
    ),
  );

  it('is the Wait → EvaluateStop → Choice loop with retries, timeouts and a catch path to finalize', () => {
    const states = deployed.States;
    expect(states.Wait).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.decision.waitSeconds',
      Next: 'EvaluateStop',
    });
    expect(states.EvaluateStop).toMatchObject({ Type: 'Task', ResultPath: '$.decision', TimeoutSeconds: 60 });
    // evaluate-stop may poll inside one invocation for WAIT_POLICY.holdSeconds: its timeout leaves room.
    const evaluateTimeout = resources[logicalIdOf(stack.functions.evaluateStop.fn)]?.Properties.Timeout;
    expect(evaluateTimeout).toBeGreaterThanOrEqual(WAIT_POLICY.holdSeconds + 5);
    expect(states.EvaluateStop.TimeoutSeconds).toBeGreaterThan(Number(evaluateTimeout));
    expect(states.EvaluateStop.Retry.flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals)).toEqual(
      expect.arrayContaining(['Lambda.ServiceException', 'States.TaskFailed']),
    );
    expect(states.EvaluateStop.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MonitorError' },
    ]);
    // A failed evaluation waits and tries again; only 10 in a row fail the job.
    expect(states.MonitorError.Next).toBe('TooManyErrors');
    expect(states.TooManyErrors.Choices[0]).toMatchObject({
      Variable: '$.monitor.errors',
      NumericGreaterThanEquals: 10,
      Next: 'MonitorFailed',
    });
    expect(states.RetryLater).toMatchObject({ Result: { action: 'continue', waitSeconds: 30 } });
    expect(states.Decide.Type).toBe('Choice');
    expect(JSON.stringify(states.Decide.Choices)).toContain('$.decision.action');
    expect(states.MonitorFailed.Next).toBe('Finalize');
    // finalize failing every retry runs it once more in its last-resort mode before the Fail state.
    expect(states.Finalize.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'FinalizeFallback' },
    ]);
    expect(states.FinalizeFallback).toMatchObject({ Type: 'Pass', Next: 'FinalizeAsFailed' });
    expect(states.FinalizeAsFailed).toMatchObject({ Type: 'Task', Next: 'Done' });
    expect(states.FinalizeAsFailed.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'FinalizeFailed' },
    ]);
    expect(states.CheckHistory.Choices[0]).toMatchObject({
      Variable: '$.monitor.loops',
      NumericGreaterThanEquals: 1000,
    });
    expect(states.RestartMonitor.Parameters.StateMachineArn).toMatch(/:stateMachine:Plateau-monitor$/);
  });

  it('is the same document the embedded runtime executes (monitorAsl), up to the state machine ARN', () => {
    const local = monitorAsl();
    const withoutSelf = (asl: { States: { RestartMonitor: { Parameters: Record<string, unknown> } } }) => {
      const copy = structuredClone(asl);
      copy.States.RestartMonitor.Parameters.StateMachineArn = '<self>';
      return copy;
    };
    expect(withoutSelf(deployed)).toEqual(withoutSelf(local as never));
  });

  it('logs ALL and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const found = report.violations.map(
      (v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(found).toEqual([]);
  });

  it('stages the trainer image context from the Dockerfile.dockerignore allowlist only', () => {
    const out = app.synth().directory;
    const staged = readdirSync(out)
      .filter((name) => name.startsWith('asset.'))
      .map((name) => join(out, name))
      .filter((dir) => existsSync(join(dir, 'trainer-image', 'Dockerfile')));
    expect(staged).toHaveLength(1);
    const entries = readdirSync(staged[0] ?? '').sort();
    expect(entries).toEqual([
      'package-lock.json',
      'package.json',
      'shared',
      'trainer-image',
      'tsconfig.json',
    ]);
  });
});
