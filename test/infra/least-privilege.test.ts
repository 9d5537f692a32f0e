// Least privilege on the synthesized stack (issue 16 item 10): each role's statements, action by action and
// resource by resource. The trainer reads only inputs, checkpoints, its class-image cache and models and writes only
// checkpoints, the cache and outputs (per job is impossible for one shared job role: infra/constructs/access.ts);
// the monitor's Lambdas get only the DynamoDB actions and Batch calls their code makes.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { PlateauStack } from '../../infra/plateau-stack.ts';
import { JOB_DIRS } from '../../shared/keys.ts';
import { CLASS_IMAGE_PREFIX } from '../../trainer-image/src/train/class-images.ts';

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new PlateauStack(app, 'Plateau', { projectRoot: process.cwd() });
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const resources = Template.fromStack(stack).toJSON().Resources as Resources;

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every Allow statement of the inline policies attached to a role. */
function statementsOf(role: IRole | undefined): Statement[] {
  if (!role) throw new Error('no role');
  const roleId = stack.getLogicalId(role.node.defaultChild as never);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .filter((s) => s.Effect === 'Allow');
}

/** action → the resources it is allowed on, as short strings (the bucket ARN becomes `bucket`, the table `table`). */
function grants(role: IRole | undefined, service: string): Record<string, string[]> {
  const bucketId = stack.getLogicalId(stack.bucket.bucket.node.defaultChild as never);
  const tableId = stack.getLogicalId(stack.table.table.node.defaultChild as never);
  const queueId = stack.getLogicalId(stack.trainer.jobQueue.node.defaultChild as never);
  const definitionId = stack.getLogicalId(stack.trainer.jobDefinition.node.defaultChild as never);
  const short = (resource: unknown): string => {
    const text = JSON.stringify(resource);
    if (text.includes(bucketId)) {
      const suffix = /"(\/[^"]*)"\]\]\}$/.exec(text)?.[1] ?? '';
      return `bucket${suffix}`;
    }
    if (text.includes(tableId)) return 'table';
    if (text === '"*"') return '*';
    if (text.includes(':job/*')) return 'job/*';
    if (text.includes(queueId)) return 'queue';
    return text.includes(definitionId) ? 'definition' : text;
  };
  const out: Record<string, string[]> = {};
  for (const statement of statementsOf(role)) {
    const actions = [statement.Action].flat();
    const list = [statement.Resource].flat().map(short);
    for (const action of actions.filter((a) => a.startsWith(`${service}:`)))
      out[action] = [...(out[action] ?? []), ...list].sort();
  }
  return out;
}

const { submitJob, evaluateStop, requestStop, finalize } = stack.functions;
const trainerRole = stack.trainer.jobDefinition.container.jobRole;

test('the trainer reads inputs, checkpoints, its class-image cache and models; writes checkpoints, cache, outputs', () => {
  expect(grants(trainerRole, 's3')).toEqual({
    's3:GetObject': [
      'bucket/jobs/*/checkpoints/*',
      'bucket/jobs/*/class-images/*',
      'bucket/jobs/*/input/*',
      'bucket/models/*',
    ],
    's3:ListBucket': ['bucket'],
    's3:PutObject': ['bucket/jobs/*/checkpoints/*', 'bucket/jobs/*/class-images/*', 'bucket/jobs/*/output/*'],
    's3:PutObjectTagging': [
      'bucket/jobs/*/checkpoints/*',
      'bucket/jobs/*/class-images/*',
      'bucket/jobs/*/output/*',
    ],
    's3:AbortMultipartUpload': [
      'bucket/jobs/*/checkpoints/*',
      'bucket/jobs/*/class-images/*',
      'bucket/jobs/*/output/*',
    ],
  });
  const listing = statementsOf(trainerRole).find((s) => s.Action === 's3:ListBucket');
  expect(listing?.Condition).toEqual({
    StringLike: {
      's3:prefix': ['jobs/*/input/*', 'jobs/*/checkpoints/*', 'jobs/*/class-images/*', 'models/*'],
    },
  });
  expect(grants(trainerRole, 'dynamodb')).toEqual({
    'dynamodb:GetItem': ['table'],
    'dynamodb:UpdateItem': ['table'],
    'dynamodb:Query': ['table'],
    'dynamodb:BatchWriteItem': ['table'],
  });
  expect(grants(trainerRole, 'batch')).toEqual({});
});

test('evaluate-stop and request-stop get only the DynamoDB actions and Batch calls they make, and no S3', () => {
  expect(grants(evaluateStop.fn.role, 'dynamodb')).toEqual({
    'dynamodb:GetItem': ['table'],
    'dynamodb:Query': ['table'],
    'dynamodb:UpdateItem': ['table'],
  });
  expect(grants(evaluateStop.fn.role, 'batch')).toEqual({
    'batch:DescribeJobs': ['*'],
    'batch:TerminateJob': ['job/*'],
  });
  expect(grants(requestStop.fn.role, 'dynamodb')).toEqual({
    'dynamodb:GetItem': ['table'],
    'dynamodb:UpdateItem': ['table'],
  });
  expect(grants(requestStop.fn.role, 'batch')).toEqual({});
  for (const role of [evaluateStop.fn.role, requestStop.fn.role]) expect(grants(role, 's3')).toEqual({});
});

test('submit-job reads inputs and models only, submits on its queue, finds and terminates its jobs', () => {
  expect(grants(submitJob.fn.role, 's3')).toEqual({
    's3:GetObject': ['bucket/jobs/*/input/*', 'bucket/models/*'],
    's3:ListBucket': ['bucket'],
  });
  expect(grants(submitJob.fn.role, 'batch')).toEqual({
    'batch:SubmitJob': ['definition', 'queue'],
    'batch:ListJobs': ['*'],
    'batch:TerminateJob': ['job/*'],
  });
  expect(grants(submitJob.fn.role, 'dynamodb')).toEqual({
    'dynamodb:GetItem': ['table'],
    'dynamodb:PutItem': ['table'],
    'dynamodb:UpdateItem': ['table'],
    'dynamodb:Scan': ['table'],
  });
});

test('finalize reads and writes outputs only, and may list checkpoints (their names give the steps trained)', () => {
  const listing = statementsOf(finalize.fn.role).find((s) => s.Action === 's3:ListBucket');
  expect(listing?.Condition).toEqual({
    StringLike: { 's3:prefix': ['jobs/*/output/*', 'jobs/*/checkpoints/*'] },
  });
  expect(grants(finalize.fn.role, 's3')).toEqual({
    's3:GetObject': ['bucket/jobs/*/output/*'],
    's3:ListBucket': ['bucket'],
    's3:PutObject': ['bucket/jobs/*/output/*'],
    's3:PutObjectTagging': ['bucket/jobs/*/output/*'],
    's3:AbortMultipartUpload': ['bucket/jobs/*/output/*'],
  });
  expect(grants(finalize.fn.role, 'dynamodb')).toEqual({
    'dynamodb:GetItem': ['table'],
    'dynamodb:Query': ['table'],
    'dynamodb:UpdateItem': ['table'],
  });
});

test("the class-image cache granted is the folder the trainer's artifact store writes", () => {
  expect(JOB_DIRS.classImageCache).toBe(CLASS_IMAGE_PREFIX);
});
