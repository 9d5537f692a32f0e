// The monitor's Amazon States Language, rendered from the same MonitorDefinition construct the stack
// deploys, with the Lambda ARNs chosen by the caller: the embedded runtime runs exactly this document under
// aws-local-stepfunctions and binds each Task state (by name) to an in-process handler.
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  MONITOR_STATES,
  MonitorDefinition,
  type MonitorDefinitionProps,
} from './constructs/monitor-definition.ts';

export { MONITOR_STATES };

const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'us-east-1';

/** ARNs the local ASL uses; any well-formed ARN works, since the runtime binds tasks by state name. */
export const LOCAL_ARNS = {
  evaluateStop: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:plateau-evaluate-stop`,
  requestStop: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:plateau-request-stop`,
  finalize: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:plateau-finalize`,
  stateMachine: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:plateau-monitor`,
} as const;

export type MonitorAslOptions = Pick<
  MonitorDefinitionProps,
  'initialWaitSeconds' | 'maxLoops' | 'taskTimeouts'
> & {
  /**
   * Execution timeout rendered as TimeoutSeconds (MonitorStateMachine's default).
   * @default Duration.days(2)
   */
  readonly executionTimeout?: Duration;
};

/** A JSON value as the ASL document holds it. */
export type AslJson = string | number | boolean | null | AslJson[] | { [key: string]: AslJson };

/** Renders the monitor's ASL with LOCAL_ARNS as a plain JSON object (no CloudFormation intrinsics left). */
export function monitorAsl(options: MonitorAslOptions = {}): { [key: string]: AslJson } {
  const app = new App();
  const stack = new Stack(app, 'MonitorAsl', { env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION } });
  const fn = (id: string, arn: string) =>
    lambda.Function.fromFunctionAttributes(stack, id, { functionArn: arn, sameEnvironment: true });
  const definition = new MonitorDefinition(stack, 'Monitor', {
    ...options,
    functions: {
      evaluateStop: fn('EvaluateStop', LOCAL_ARNS.evaluateStop),
      requestStop: fn('RequestStop', LOCAL_ARNS.requestStop),
      finalize: fn('Finalize', LOCAL_ARNS.finalize),
    },
    self: sfn.StateMachine.fromStateMachineArn(stack, 'Self', LOCAL_ARNS.stateMachine),
  });
  const graph = new sfn.StateGraph(definition.startState, 'monitor');
  graph.timeout = options.executionTimeout ?? Duration.days(2);
  const resolved = resolveIntrinsics(stack.resolve(graph.toGraphJson()));
  if (resolved === null || typeof resolved !== 'object' || Array.isArray(resolved)) {
    throw new Error('monitor ASL did not render to an object');
  }
  return resolved;
}

const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * Replaces the intrinsics CDK leaves in an env-specific stack (pseudo-parameter Refs inside Fn::Join),
 * and, for a deployed template, Fn::GetAtt of a resource through `attribute` (tests map Lambda ARNs).
 */
export function resolveIntrinsics(
  value: unknown,
  attribute?: (logicalId: string, name: string) => string,
): AslJson {
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, attribute));
  if (typeof value !== 'object') throw new Error(`unexpected ${typeof value} in ASL`);
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only) {
    const [key, arg] = only;
    if (key === 'Ref' && typeof arg === 'string') {
      const pseudo = PSEUDO[arg];
      if (pseudo === undefined) throw new Error(`unresolvable Ref ${arg}`);
      return pseudo;
    }
    if (key === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
      const separator = arg[0];
      return arg[1].map((part) => String(resolveIntrinsics(part, attribute))).join(separator);
    }
    if (key === 'Fn::GetAtt' && Array.isArray(arg) && attribute) {
      return attribute(String(arg[0]), String(arg[1]));
    }
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveIntrinsics(item, attribute)]));
}
