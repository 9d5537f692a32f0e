// Checks an AWS Signature Version 4 `Authorization` header against the one key pair the embedded stack accepts.
// s3rver checks only that the access key exists (its SigV4 check is unimplemented) and dynalite checks nothing, so
// `plateau up` verifies each request itself: a client without this start's credentials is refused.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface SignedRequest {
  readonly method: string;
  /** The raw request target: path and query exactly as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The body, hashed when the client sent no x-amz-content-sha256 header (DynamoDB's requests). */
  readonly body?: Uint8Array;
}

export type SignatureCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'MissingAuthentication';
      readonly reason: string;
    };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding, as SigV4 canonicalizes query parameters. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The query string in canonical form: every parameter decoded and re-encoded, sorted by name, then value. */
function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    const [name, value] =
      eq < 0 ? [decode(part), ''] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))];
    return [rfc3986(name), rfc3986(value)] as const;
  });
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/**
 * The canonical path: S3 signs the path as sent (its keys are already encoded once); every other service encodes
 * each segment of the normalized path again.
 */
function canonicalPath(path: string, service: string): string {
  if (service === 's3') return path || '/';
  return path
    .split('/')
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join('/');
}

/** Whether the request carries a valid SigV4 signature made with `credentials`. */
export function checkSigV4(request: SignedRequest, credentials: LocalCredentials): SignatureCheck {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? AUTHORIZATION.exec(header) : null;
  if (!match) {
    return { ok: false, code: 'MissingAuthentication', reason: 'the request is not signed with AWS SigV4' };
  }
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) {
    return { ok: false, code: 'InvalidAccessKeyId', reason: `access key ${accessKeyId} is not this stack's` };
  }
  const amzDate = request.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !amzDate.startsWith(date!)) {
    return { ok: false, code: 'SignatureDoesNotMatch', reason: 'x-amz-date is missing or outside the scope' };
  }
  const names = signedHeaders!.split(';');
  if (!names.includes('host'))
    return { ok: false, code: 'SignatureDoesNotMatch', reason: 'host is not signed' };
  const canonicalHeaders = names
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const declared = request.headers['x-amz-content-sha256'];
  const payloadHash = typeof declared === 'string' ? declared : sha256(request.body ?? new Uint8Array());
  const queryAt = request.url.indexOf('?');
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const canonicalRequest = [
    request.method,
    canonicalPath(path, service!),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date!), region!), service!),
    'aws4_request',
  );
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const given = Buffer.from(signature!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      reason: "the signature does not match this stack's secret key",
    };
  }
  return { ok: true };
}
