// Drives the system's Chromium (Debian's package; nothing is downloaded) headless for browser tests, through
// the Chrome DevTools Protocol over --remote-debugging-pipe: NUL-terminated JSON messages on fds 3 and 4.
// Just what the console test needs: pages, script evaluation, file inputs, downloads and screenshots.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** The Chromium to drive: $PLATEAU_CHROMIUM, else the usual system paths; undefined when none is installed. */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.PLATEAU_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  return candidates.find((path) => path !== undefined && path !== '' && existsSync(path));
}

interface Message {
  readonly id?: number;
  readonly method?: string;
  readonly params?: Record<string, unknown>;
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly message: string };
  readonly sessionId?: string;
}

type Listener = (params: Record<string, unknown>, sessionId: string | undefined) => void;

export class HeadlessChromium {
  readonly #child: ChildProcess;
  readonly #input: Writable;
  readonly #profile: string;
  readonly #pending = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  readonly #listeners = new Set<{ method: string; listener: Listener }>();
  #nextId = 1;
  #buffer = '';
  #stderr = '';

  private constructor(executable: string) {
    this.#profile = mkdtempSync(join(tmpdir(), 'plateau-chromium-'));
    this.#child = spawn(
      executable,
      [
        '--headless',
        '--remote-debugging-pipe',
        // Tests run as root in containers, where Chromium's sandbox cannot start.
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-default-browser-check',
        '--hide-scrollbars',
        '--mute-audio',
        `--user-data-dir=${this.#profile}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    );
    this.#input = this.#child.stdio[3] as Writable;
    const output = this.#child.stdio[4] as Readable;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.#receive(chunk));
    this.#child.stderr?.setEncoding('utf8');
    this.#child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#child.on('exit', (code) => {
      for (const { reject } of this.#pending.values()) {
        reject(new Error(`chromium exited (${code}): ${this.#stderr.trim().slice(-600)}`));
      }
      this.#pending.clear();
    });
  }

  static async launch(executable: string): Promise<HeadlessChromium> {
    const browser = new HeadlessChromium(executable);
    await browser.send('Browser.getVersion');
    return browser;
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    for (let end = this.#buffer.indexOf('\0'); end >= 0; end = this.#buffer.indexOf('\0')) {
      const message = JSON.parse(this.#buffer.slice(0, end)) as Message;
      this.#buffer = this.#buffer.slice(end + 1);
      if (message.id !== undefined) {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) pending?.reject(new Error(message.error.message));
        else pending?.resolve(message.result ?? {});
      } else if (message.method) {
        for (const { method, listener } of this.#listeners) {
          if (method === message.method) listener(message.params ?? {}, message.sessionId);
        }
      }
    }
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string) {
    const id = this.#nextId++;
    const result = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    this.#input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return result;
  }

  /** Calls `listener` for every event `method` until the returned function is called. */
  on(method: string, listener: Listener): () => void {
    const entry = { method, listener };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /** Downloads go to `dir`, each saved under its GUID; returns a function that waits for the next one. */
  async allowDownloads(dir: string): Promise<() => Promise<{ path: string; suggestedFilename: string }>> {
    mkdirSync(dir, { recursive: true });
    await this.send('Browser.setDownloadBehavior', {
      behavior: 'allowAndName',
      downloadPath: dir,
      eventsEnabled: true,
    });
    return () =>
      new Promise((resolve, reject) => {
        let name = '';
        const timer = setTimeout(() => {
          stopBegin();
          stopProgress();
          reject(new Error('no download completed within 30 s'));
        }, 30_000);
        const stopBegin = this.on('Browser.downloadWillBegin', (params) => {
          name = String(params.suggestedFilename);
        });
        const stopProgress = this.on('Browser.downloadProgress', (params) => {
          if (params.state === 'completed' || params.state === 'canceled') {
            clearTimeout(timer);
            stopBegin();
            stopProgress();
            if (params.state === 'canceled') reject(new Error('download canceled'));
            else resolve({ path: join(dir, String(params.guid)), suggestedFilename: name });
          }
        });
      });
  }

  async newPage(width: number, height: number): Promise<ChromiumPage> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new ChromiumPage(this, String(sessionId));
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    await page.resize(width, height);
    return page;
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    if (this.#child.exitCode === null) {
      await this.send('Browser.close').catch(() => {});
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#profile, { recursive: true, force: true });
  }
}

export class ChromiumPage {
  readonly #browser: HeadlessChromium;
  readonly #sessionId: string;
  readonly #errors: string[] = [];

  constructor(browser: HeadlessChromium, sessionId: string) {
    this.#browser = browser;
    this.#sessionId = sessionId;
    browser.on('Runtime.exceptionThrown', (params, session) => {
      if (session !== sessionId) return;
      const details = params.exceptionDetails as { exception?: { description?: string }; text?: string };
      this.#errors.push(details.exception?.description ?? details.text ?? 'exception');
    });
  }

  /** Uncaught exceptions the page has thrown so far. */
  get errors(): readonly string[] {
    return this.#errors;
  }

  send(method: string, params: Record<string, unknown> = {}) {
    return this.#browser.send(method, params, this.#sessionId);
  }

  resize(width: number, height: number) {
    return this.send('Emulation.setDeviceMetricsOverride', {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
  }

  async navigate(url: string): Promise<void> {
    await this.send('Page.navigate', { url });
    await this.waitFor('document.readyState === "complete"', 15_000);
  }

  /** Evaluates an expression in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const out = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    const exception = out.exceptionDetails as { exception?: { description?: string } } | undefined;
    if (exception) throw new Error(`in the page: ${exception.exception?.description ?? expression}`);
    return (out.result as { value: T }).value;
  }

  /** Polls until the expression is truthy; fails with `what` after timeoutMs. */
  async waitFor(expression: string, timeoutMs: number, what = expression): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.evaluate<boolean>(`Boolean(${expression})`).catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Sets an <input type=file>'s files as a person choosing them would (it fires input and change). */
  async setFiles(selector: string, files: readonly string[]): Promise<void> {
    const { root } = await this.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await this.send('DOM.querySelector', {
      nodeId: (root as { nodeId: number }).nodeId,
      selector,
    });
    if (!nodeId) throw new Error(`no element ${selector}`);
    await this.send('DOM.setFileInputFiles', { nodeId, files });
  }

  /** A PNG of the whole page at `width` CSS pixels. */
  async screenshot(width: number): Promise<Buffer> {
    const height = await this.evaluate<number>('Math.ceil(document.documentElement.scrollHeight)');
    await this.resize(width, height);
    const { data } = await this.send('Page.captureScreenshot', { format: 'png' });
    return Buffer.from(String(data), 'base64');
  }
}
