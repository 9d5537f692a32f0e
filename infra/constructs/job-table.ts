// The one DynamoDB table (job records and loss samples, layout in shared/table-layout.ts): on-demand,
// point-in-time recovery, TTL on samples; bind() sets ENV.TABLE and grants read or read-write.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env.ts';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../../shared/table-layout.ts';
import type { Access, BindingTarget } from './binding.ts';

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

  /** Sets ENV.TABLE and grants data-plane read (Get/Query) or read-write (plus Put/Update/BatchWrite). */
  bind(target: BindingTarget, access: Access): void {
    target.addEnvironment(ENV.TABLE, this.table.tableName);
    if (access === 'R') this.table.grantReadData(target);
    else this.table.grantReadWriteData(target);
  }
}
