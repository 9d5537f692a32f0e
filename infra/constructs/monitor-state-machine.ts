// The deployed monitor: a Standard state machine running MonitorDefinition, logging to its own log group
// with X-Ray tracing; bind() lets submit-job start executions of it.
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env.ts';
import { acknowledgeOnPrincipal, arnToken, type BindingTarget } from './binding.ts';
import {
  MonitorDefinition,
  type MonitorDefinitionProps,
  type MonitorFunctions,
} from './monitor-definition.ts';

export interface MonitorStateMachineProps extends Omit<MonitorDefinitionProps, 'self' | 'functions'> {
  readonly functions: MonitorFunctions;
  /**
   * Name of the state machine. Fixed so the definition can restart itself by ARN without a
   * CloudFormation dependency cycle.
   * @default `${stackName}-monitor`
   */
  readonly stateMachineName?: string;
  /**
   * Limit of one execution (one generation; long jobs continue in a new execution).
   * @default Duration.days(2)
   */
  readonly executionTimeout?: Duration;
  /**
   * How long execution logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

export class MonitorStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly definition: MonitorDefinition;

  constructor(scope: Construct, id: string, props: MonitorStateMachineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stateMachineName = props.stateMachineName ?? `${stack.stackName}-monitor`;
    const selfArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const self = sfn.StateMachine.fromStateMachineArn(this, 'Self', selfArn);
    this.definition = new MonitorDefinition(this, 'Definition', { ...props, self });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition.startState),
      timeout: props.executionTimeout ?? Duration.days(2),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    const fns = [props.functions.evaluateStop, props.functions.requestStop, props.functions.finalize];
    acknowledgeOnPrincipal(
      this.stateMachine,
      fns.map((fn) => `AwsSolutions-IAM5[Resource::${arnToken(fn)}:*]`),
      'CDK grants lambda:InvokeFunction on each task function and its qualified versions (<arn>:*), nothing else.',
    );
    acknowledgeOnPrincipal(
      this.stateMachine,
      ['AwsSolutions-IAM5[Resource::*]'],
      'X-Ray tracing (PutTraceSegments, PutTelemetryRecords) and log delivery actions only support Resource *.',
    );
  }

  /** Sets ENV.STATE_MACHINE_ARN and grants states:StartExecution on this state machine only. */
  bind(target: BindingTarget): void {
    target.addEnvironment(ENV.STATE_MACHINE_ARN, this.stateMachine.stateMachineArn);
    this.stateMachine.grantStartExecution(target);
  }
}
