// What submit's image checks and `plateau up`'s signature check cost: bytes read and time to read an image's header
// (PNG and WebP: two small ranged reads; JPEG: the whole file, walked segment by segment) for phone-sized photos,
// and the time to verify one SigV4 request. Prints JSON. Usage: node bench/submit-checks.ts [--quick]

import { createHash, createHmac } from 'node:crypto';
import sharp from 'sharp';
import { checkSigV4 } from '../infra/embedded/sigv4-check.ts';
import { readImageHeader } from '../shared/image-header.ts';

const quick = process.argv.includes('--quick');
const [width, height] = quick ? [1200, 900] : [4032, 3024]; // a 12-megapixel phone photo

/** Random pixels (incompressible, so the files are as large as photos of that size get). */
function noise(): Buffer {
  const bytes = Buffer.alloc(width * height * 3);
  let x = 2463534242;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

async function timeHeader(file: Buffer, runs: number) {
  let read = 0;
  const reader = async (start: number, end: number) => {
    read += end - start + 1;
    return file.subarray(start, end + 1);
  };
  const started = performance.now();
  for (let i = 0; i < runs; i++) await readImageHeader(file.length, reader);
  return { fileBytes: file.length, bytesRead: read / runs, msPerImage: (performance.now() - started) / runs };
}

const raw = sharp(noise(), { raw: { width, height, channels: 3 } });
const runs = quick ? 5 : 20;
const images = {
  png: await timeHeader(await raw.clone().png({ compressionLevel: 1 }).toBuffer(), runs),
  jpeg: await timeHeader(await raw.clone().jpeg({ quality: 90 }).toBuffer(), runs),
  webp: await timeHeader(await raw.clone().webp({ quality: 90 }).toBuffer(), runs),
};

// One DynamoDB-style request signed the way SigV4 signs it, then verified many times.
const credentials = { accessKeyId: 'PLATAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40) };
const body = Buffer.from(
  JSON.stringify({ TableName: 'plateau', Key: { pk: { S: 'JOB#a' }, sk: { S: 'RECORD' } } }),
);
const amzDate = '20261203T120000Z';
const headers: Record<string, string> = {
  host: '127.0.0.1:4569',
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-date': amzDate,
  'x-amz-target': 'DynamoDB_20120810.GetItem',
};
const signed = Object.keys(headers).sort();
const hash = (d: string | Buffer) => createHash('sha256').update(d).digest('hex');
const canonical = [
  'POST',
  '/',
  '',
  signed.map((h) => `${h}:${headers[h]}\n`).join(''),
  signed.join(';'),
  hash(body),
].join('\n');
const scope = '20261203/us-east-1/dynamodb/aws4_request';
let key: Buffer | string = `AWS4${credentials.secretAccessKey}`;
for (const part of ['20261203', 'us-east-1', 'dynamodb', 'aws4_request'])
  key = createHmac('sha256', key).update(part).digest();
const signature = createHmac('sha256', key)
  .update(['AWS4-HMAC-SHA256', amzDate, scope, hash(canonical)].join('\n'))
  .digest('hex');
headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
const request = { method: 'POST', url: '/', headers, body };
if (!checkSigV4(request, credentials).ok) throw new Error('the benchmark request does not verify');
const checks = quick ? 2000 : 20000;
const started = performance.now();
for (let i = 0; i < checks; i++) checkSigV4(request, credentials);
const usPerCheck = ((performance.now() - started) * 1000) / checks;

console.log(JSON.stringify({ photo: `${width}x${height}`, images, sigv4: { checks, usPerCheck } }, null, 2));
