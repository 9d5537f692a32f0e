// The bucket on S3: ObjectStore (full keys; list, ranged get, head, put) for the Lambdas, and an
// ArtifactStore scoped to one job's prefix for the trainer's checkpoints (tagged for the expiry rule) and outputs.
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CHECKPOINT_TAG, CHECKPOINTS_DIR } from '../keys.ts';
import { ObjectChangedError, type ObjectInfo, type ObjectStore } from '../pipeline-ports.ts';
import type { ArtifactStore } from '../ports.ts';
import { errorName } from './clients.ts';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);

export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#client = client;
    this.#bucket = bucket;
  }

  /**
   * Pages with ListObjects (v1) and Marker = the last key seen. V2's continuation tokens would do the same on
   * S3, but s3rver (the embedded mode's S3) mints them with DES, which OpenSSL 3 (Node ≥ 17) no longer
   * provides, so every truncated V2 listing fails there with InternalError.
   */
  async list(prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await this.#client.send(
        new ListObjectsCommand({ Bucket: this.#bucket, Prefix: prefix, Marker: marker }),
      );
      for (const item of out.Contents ?? []) {
        if (item.Key !== undefined) found.push({ key: item.Key, size: item.Size ?? 0, etag: item.ETag });
      }
      const last = found[found.length - 1]?.key;
      if (!out.IsTruncated || last === undefined || last === marker) return found;
      marker = last;
    }
  }

  /**
   * A pinned read sends If-Match (S3 answers 412 for a replaced object) and also compares the ETag of the bytes
   * received, because s3rver ignores If-Match; either way the bytes returned are the pinned object's.
   */
  async get(
    key: string,
    range?: { readonly start: number; readonly end: number },
    expect?: { readonly etag: string },
  ): Promise<Uint8Array | undefined> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
          IfMatch: expect?.etag,
        }),
      );
      if (expect && out.ETag !== expect.etag) {
        await out.Body?.transformToByteArray();
        throw new ObjectChangedError(key, `was replaced (ETag ${out.ETag ?? 'none'}, pinned ${expect.etag})`);
      }
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      const name = errorName(error) ?? '';
      if (expect && (name === 'PreconditionFailed' || NOT_FOUND.has(name))) {
        throw new ObjectChangedError(key, name === 'PreconditionFailed' ? 'was replaced' : 'was deleted');
      }
      if (NOT_FOUND.has(name)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag };
    } catch (error) {
      if (NOT_FOUND.has(errorName(error) ?? '')) return undefined;
      throw error;
    }
  }

  async put(
    key: string,
    body: Uint8Array,
    contentType?: string,
    tags?: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        // x-amz-tagging: URL-encoded key=value pairs (needs s3:PutObjectTagging besides s3:PutObject).
        Tagging: tags ? new URLSearchParams(tags).toString() : undefined,
      }),
    );
  }
}

/** ArtifactStore whose keys are relative to `root` (e.g. `jobs/<jobId>/`); list returns relative keys. */
export class S3ArtifactStore implements ArtifactStore {
  readonly #objects: ObjectStore;
  readonly #root: string;

  constructor(objects: ObjectStore, root: string) {
    if (!root.endsWith('/')) throw new Error(`artifact root must end with "/" (got ${root})`);
    this.#objects = objects;
    this.#root = root;
  }

  #full(key: string): string {
    if (key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
      throw new Error(`artifact key must be relative without "." or ".." segments (got ${key})`);
    }
    return `${this.#root}${key}`;
  }

  /** Checkpoints (keys under checkpoints/) carry CHECKPOINT_TAG, which the bucket's expiry rule matches. */
  put(key: string, body: Uint8Array, contentType?: string): Promise<void> {
    const tags = key.startsWith(CHECKPOINTS_DIR) ? { [CHECKPOINT_TAG.key]: CHECKPOINT_TAG.value } : undefined;
    return this.#objects.put(this.#full(key), body, contentType, tags);
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#objects.get(this.#full(key));
  }

  async list(prefix: string): Promise<string[]> {
    const objects = await this.#objects.list(this.#full(prefix));
    return objects.map((object) => object.key.slice(this.#root.length));
  }
}
