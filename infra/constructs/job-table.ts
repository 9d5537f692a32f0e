// The one DynamoDB table (job records and loss samples, layout in shared/table-layout.ts): on-demand,
// point-in-time recovery, TTL on samples; bind() sets ENV.TABLE and grants the data-plane actions asked for.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env.ts';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../../shared/table-layout.ts';
import type { TableAction } from './access.ts';
import type { BindingTarget } from './binding.ts';

export interface JobTableProps {
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class JobTable extends Construct {
  /** The table itself. */
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: JobTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SORT_KEY, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Sets ENV.TABLE and grants exactly these actions on the table (infra/constructs/access.ts); no indexes exist. */
  bind(target: BindingTarget, actions: readonly TableAction[]): void {
    target.addEnvironment(ENV.TABLE, this.table.tableName);
    iam.Grant.addToPrincipal({
      grantee: target,
      actions: actions.map((action) => `dynamodb:${action}`),
      resourceArns: [this.table.tableArn],
    });
  }
}
