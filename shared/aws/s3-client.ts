// An S3 client for a bucket at a given endpoint (the embedded `plateau up`, path-style addressing) or at
// AWS (the SDK's defaults: region, credentials chain and AWS_ENDPOINT_URL_S3 from the environment).
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export function createS3Client(config: S3ClientConfig = {}): S3Client {
  // A custom endpoint (s3rver, MinIO, …) has no virtual-host buckets: address them by path.
  const pathStyle = config.endpoint !== undefined || process.env.AWS_ENDPOINT_URL_S3 !== undefined;
  return new S3Client({ ...(pathStyle ? { forcePathStyle: true } : {}), ...config });
}
