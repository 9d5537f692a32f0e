// The bind-style contract between a resource construct and its consumers (Lambdas, the trainer container):
// one call sets the environment variable named in shared/env.ts and grants exactly the access asked for.
import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

/** Anything that carries environment variables and an IAM principal: a Lambda function, the trainer job. */
export interface BindingTarget extends iam.IGrantable {
  addEnvironment(name: string, value: string): unknown;
}

/**
 * Acknowledges cdk-nag findings on the construct behind a principal (a role and its default policy), for
 * grants whose wildcard is inherent (per-job S3 prefixes, Batch job ids known only at run time).
 */
export function acknowledgeOnPrincipal(target: iam.IGrantable, ids: readonly string[], reason: string): void {
  const principal = target.grantPrincipal;
  if (!(principal instanceof Construct)) return;
  for (const id of ids) Validations.of(principal).acknowledge({ id, reason });
}

/** The `<LogicalId.Arn>` token text cdk-nag prints for a resource's ARN in its finding ids. */
export function arnToken(resource: IConstruct): string {
  const cfn = resource.node.defaultChild;
  if (!(cfn instanceof CfnElement)) throw new Error(`${resource.node.path} has no CloudFormation resource`);
  return `<${Stack.of(resource).getLogicalId(cfn)}.Arn>`;
}
