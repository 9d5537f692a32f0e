// The schedule that runs submit-job's reconciler: a submission that died after taking its lease is finished
// (or failed with a reason) on the next tick after the lease expires, instead of leaving the job QUEUED forever.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface SubmissionReconcilerProps {
  /** The submit-job function; it tells the schedule's events from S3's (functions/submit-job/reconcile.ts). */
  readonly submitJob: lambda.IFunction;
  /**
   * How often the reconciler runs.
   * @default Duration.minutes(5)
   */
  readonly every?: Duration;
}

export class SubmissionReconciler extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: SubmissionReconcilerProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Schedule', {
      schedule: events.Schedule.rate(props.every ?? Duration.minutes(5)),
      targets: [new targets.LambdaFunction(props.submitJob, { retryAttempts: 0 })],
    });
  }
}
