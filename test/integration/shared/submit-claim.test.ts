// Atomic submit on real DynamoDB and S3 (dynalite, s3rver): of many concurrent claims of one jobId exactly one
// wins, and an id already used by a job uploaded without a claim (a record, or just its job.json) is refused.
import { DynamoDbJobReservations } from '../../../shared/aws/dynamodb-job-reservations.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { JobManifest } from '../../../shared/manifest.ts';
import { claimJobId, type SubmitClaimDeps } from '../../../shared/submit-claim.ts';
import { type EmbeddedAws, startEmbeddedAws } from './aws/embedded-aws.ts';

let aws: EmbeddedAws;
let deps: SubmitClaimDeps & { jobs: DynamoDbJobStore; objects: S3ObjectStore };
beforeAll(async () => {
  aws = await startEmbeddedAws();
  deps = {
    reservations: new DynamoDbJobReservations(aws.documents, aws.table),
    jobs: new DynamoDbJobStore(aws.documents, aws.table),
    objects: new S3ObjectStore(aws.s3, aws.bucket),
    now: () => new Date(),
  };
});
afterAll(async () => {
  await aws.close();
});

test('12 concurrent claims of one id: exactly one wins, and the id stays taken', async () => {
  const results = await Promise.all(Array.from({ length: 12 }, () => claimJobId('race', deps)));
  expect(results.filter((r) => r.claimed)).toHaveLength(1);
  expect(results.filter((r) => !r.claimed)).toEqual(
    Array(11).fill({ claimed: false, reason: "job 'race' is taken: another submit reserved this id" }),
  );
  expect(await claimJobId('race', deps)).toMatchObject({ claimed: false });
  // The reservation is not a job: the reconciler's scan and the record reads do not see it.
  expect(await deps.jobs.get('race')).toBeUndefined();
  expect(await deps.jobs.listUnsettled()).toEqual([]);
});

test('an id used by a job uploaded some other way is refused', async () => {
  const now = new Date().toISOString();
  await deps.jobs.create({
    jobId: 'raw-record',
    status: 'QUEUED',
    createdAt: now,
    updatedAt: now,
    manifest: JobManifest.parse({ token: '<t>' }),
    stopRequested: false,
    attempts: 0,
  });
  expect(await claimJobId('raw-record', deps)).toEqual({
    claimed: false,
    reason: "job 'raw-record' already exists",
  });
  await deps.objects.put(jobKeys('raw-manifest').manifest, new TextEncoder().encode('{}'));
  expect(await claimJobId('raw-manifest', deps)).toEqual({
    claimed: false,
    reason: "job 'raw-manifest' already exists",
  });
  expect(await claimJobId('fresh', deps)).toEqual({ claimed: true });
});
