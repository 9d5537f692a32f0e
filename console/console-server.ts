// The web console's HTTP server: the page and its assets, and the JSON API (api.ts) over the stack's stores.
// Listens on 127.0.0.1 only; every request passes access.ts first.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkAccess, newConsoleToken } from './access.ts';
import { handleApi } from './api.ts';
import type { ModelTrainingTable } from './api-types.ts';
import type { ConsoleStores } from './console-stores.ts';
import { HttpError, send, sendJson } from './http.ts';
import { JobViews } from './job-views.ts';
import { type Assets, loadAssets } from './static-assets.ts';

export interface ConsoleOptions {
  /** Repository root: the page's files (console/web) and node_modules' Vega builds are read from here. */
  readonly projectRoot: string;
  readonly stores: ConsoleStores;
  /**
   * Base models' own training settings by model name, filled into the new-job form when that model is chosen
   * (`plateau up` passes the embedded model's). @default none: every model gets the methods' defaults
   */
  readonly modelTraining?: ModelTrainingTable;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default a fresh random token */
  readonly token?: string;
  readonly log?: (line: string) => void;
}

export interface ConsoleServer {
  /** Opens the console (carries the token; the page then keeps it in a cookie). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const assets: Assets = await loadAssets(options.projectRoot);
  const token = options.token ?? newConsoleToken();
  const stores = options.stores;
  const views = new JobViews(stores);
  const log = options.log ?? (() => {});
  const modelTraining = options.modelTraining ?? {};
  let port = 0;

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const access = checkAccess(request, url, port, token);
    if (access.kind === 'denied')
      return send(response, 403, `plateau console: ${access.reason}\n`, 'text/plain');
    if (access.kind === 'sign-in') {
      response.writeHead(303, { 'set-cookie': access.setCookie, location: url.pathname });
      return response.end();
    }
    if (url.pathname.startsWith('/api/')) {
      handleApi(request, response, url, { stores, views, modelTraining, log }).catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        const message = error instanceof Error ? error.message : String(error);
        if (status === 500) log(`[console] ${request.method} ${url.pathname}: ${message}`);
        if (!response.headersSent) sendJson(response, status, { error: message });
        else response.end();
      });
      return;
    }
    const asset = request.method === 'GET' ? assets.get(url.pathname) : undefined;
    if (!asset) return send(response, 404, 'not found\n', 'text/plain');
    send(response, 200, asset.body, asset.contentType);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
