// The one S3 bucket (jobs/<jobId>/…, models/<name>/…): private, TLS only, encrypted, checkpoints expire,
// and a job.json upload under jobs/ notifies the submit-job Lambda with the standard S3 event.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { ENV } from '../../shared/env.ts';
import { CHECKPOINT_TAG, JOBS_PREFIX, MANIFEST_SUFFIX } from '../../shared/keys.ts';
import type { ObjectAccess } from './access.ts';
import { acknowledgeOnPrincipal, arnToken, type BindingTarget } from './binding.ts';

/**
 * The object tag the S3 artifact store puts on checkpoints (defined in shared/keys.ts). S3 lifecycle filters
 * match a key prefix, not a pattern, and checkpoints live under jobs/<jobId>/checkpoints/, so the expiry rule
 * matches this tag.
 */
export { CHECKPOINT_TAG };

export interface JobBucketProps {
  /**
   * Days after which checkpoint objects (tagged CHECKPOINT_TAG) expire.
   * @default 14
   */
  readonly checkpointExpiryDays?: number;
  /**
   * Days after which everything under jobs/ expires (inputs, checkpoints, outputs); undefined keeps them.
   * @default - job objects are kept
   */
  readonly jobExpiryDays?: number;
  /**
   * What happens to the bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class JobBucket extends Construct {
  /** The bucket itself. */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: JobBucketProps = {}) {
    super(scope, id);
    const lifecycleRules: s3.LifecycleRule[] = [
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      {
        id: 'expire-checkpoints',
        prefix: JOBS_PREFIX,
        tagFilters: { [CHECKPOINT_TAG.key]: CHECKPOINT_TAG.value },
        expiration: Duration.days(props.checkpointExpiryDays ?? 14),
      },
    ];
    if (props.jobExpiryDays !== undefined) {
      lifecycleRules.push({
        id: 'expire-jobs',
        prefix: JOBS_PREFIX,
        expiration: Duration.days(props.jobExpiryDays),
      });
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs would need a second bucket per deployment; object-level auditing is done with CloudTrail data events when an account needs it.',
    });
  }

  /** Invokes fn with the standard S3 event for every object created under jobs/ whose key ends in job.json. */
  notifyManifestUploads(fn: lambda.IFunction): void {
    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(fn), {
      prefix: JOBS_PREFIX,
      suffix: MANIFEST_SUFFIX,
    });
  }

  /**
   * Sets ENV.BUCKET and grants exactly `access` (infra/constructs/access.ts): GetObject on the read patterns,
   * ListBucket limited to them and the list patterns, PutObject (and tagging) on the write patterns. No delete:
   * lifecycle rules expire objects.
   */
  bind(target: BindingTarget, access: ObjectAccess): void {
    target.addEnvironment(ENV.BUCKET, this.bucket.bucketName);
    const statements = [
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: access.read.map((pattern) => this.bucket.arnForObjects(pattern)),
      }),
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [...access.read, ...(access.list ?? [])] } },
      }),
    ];
    if (access.write.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'],
          resources: access.write.map((pattern) => this.bucket.arnForObjects(pattern)),
        }),
      );
    }
    for (const statement of statements) target.grantPrincipal.addToPrincipalPolicy(statement);
    const arn = arnToken(this.bucket);
    acknowledgeOnPrincipal(
      target,
      [...new Set([...access.read, ...access.write])].map(
        (pattern) => `AwsSolutions-IAM5[Resource::${arn}/${pattern}]`,
      ),
      'Job and model keys are created at run time (shared/keys.ts); access is limited to these folders of them.',
    );
  }
}
