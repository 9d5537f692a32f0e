// Type declarations for the two embedded servers, which ship without types: only what infra/embedded uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    configureBuckets?: { name: string }[];
    allowMismatchedSignatures?: boolean;
  }
  /** The Koa context, as far as plateau's request guard uses it. */
  interface S3rverContext {
    readonly method: string;
    readonly url: string;
    readonly headers: import('node:http').IncomingHttpHeaders;
    readonly response: { readonly headers: Record<string, unknown> };
    status: number;
    type: string;
    body: unknown;
    remove(header: string): void;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    /** Koa's middleware list, composed when the server starts listening. */
    readonly middleware: ((context: S3rverContext, next: () => Promise<void>) => Promise<void>)[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: unknown) => void): this;
  }
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module 's3rver/lib/models/account.js' {
  /** s3rver's accounts: a process-wide registry of access keys it knows. */
  interface Account {
    createKeyPair(accessKeyId: string, secretAccessKey: string): void;
    revokeAccessKey(accessKeyId: string): void;
  }
  const accounts: { readonly DUMMY_ACCOUNT: Account };
  export default accounts;
}
