// An HTTP proxy in front of the embedded S3 that answers 503 SlowDown for a while when asked: the soak points the
// trainers (only them) at it and opens a fault window on one job's keys, long enough to outlast the SDK's own
// retries, so the trainer meets the error, exits 75 and its retry resumes. Requests pass through untouched
// otherwise (the Host header too, so SigV4 signatures still verify at s3rver).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxy {
  /** The endpoint the trainers use instead of s3rver's. */
  readonly endpoint: string;
  /** Where requests go (set once the embedded S3 runs; the proxy starts first so trainers can be given it). */
  connect(upstream: string): void;
  /**
   * From the next request under `keyPrefix` (path-style, after the bucket) whose method is `method`, every request
   * under that prefix fails 503 for `windowMs`. Resolves with the number of requests failed once the window ends.
   */
  failNext(keyPrefix: string, method: string, windowMs: number): Promise<number>;
  /** Responses failed so far, all windows together. */
  readonly failed: () => number;
  close(): Promise<void>;
}

interface Window {
  readonly keyPrefix: string;
  readonly method: string;
  readonly windowMs: number;
  until?: number;
  count: number;
  readonly done: (count: number) => void;
}

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>' +
  '<Message>Please reduce your request rate. (injected by the soak)</Message></Error>';

export async function startFaultProxy(bucket: string): Promise<FaultProxy> {
  let target: URL | undefined;
  const windows: Window[] = [];
  let failed = 0;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const key = path.startsWith(`/${bucket}/`) ? path.slice(bucket.length + 2) : '';
    const now = Date.now();
    const window = windows.find((w) => key.startsWith(w.keyPrefix) && (w.until ?? 0) > now);
    const opening = window
      ? undefined
      : windows.find((w) => w.until === undefined && key.startsWith(w.keyPrefix) && req.method === w.method);
    if (opening) {
      opening.until = now + opening.windowMs;
      setTimeout(() => opening.done(opening.count), opening.windowMs).unref();
    }
    const failing = window ?? opening;
    if (failing) {
      failing.count++;
      failed++;
      req.resume();
      res.writeHead(503, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(SLOW_DOWN),
      });
      res.end(SLOW_DOWN);
      return;
    }
    if (!target) {
      res.writeHead(502);
      res.end('fault proxy: no upstream yet');
      return;
    }
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', (error) => {
      res.writeHead(502);
      res.end(String(error));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connect(upstream) {
      target = new URL(upstream);
    },
    failNext(keyPrefix, method, windowMs) {
      return new Promise((done) => {
        windows.push({ keyPrefix, method, windowMs, count: 0, done });
      });
    },
    failed: () => failed,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
