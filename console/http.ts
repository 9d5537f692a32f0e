// The console's HTTP plumbing: replies with its security headers, bounded request bodies, and the error type the
// API throws for a clear answer (status and message) instead of a 500.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A refusal with its HTTP status; the message goes to the page. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Writes a reply; every one carries no-store, nosniff and a CSP that allows nothing from elsewhere. */
export function send(
  response: ServerResponse,
  status: number,
  body: Uint8Array | string,
  type: string,
): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Nothing from elsewhere. Vega compiles its expressions with new Function (hence unsafe-eval); blob: images
    // are the drop zone's thumbnails; vega sets inline styles.
    'content-security-policy':
      "default-src 'self'; script-src 'self' 'unsafe-eval'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'",
  });
  response.end(body);
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

/** The request body, or a 413 past `limit` bytes. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** A path segment decoded, or a 400 for a malformed escape. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'malformed URL escape');
  }
}
