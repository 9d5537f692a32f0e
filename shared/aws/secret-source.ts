// SecretSource for the webhook HMAC key, read through the AWS Parameters and Secrets Lambda Extension
// (an HTTP endpoint on localhost inside the Lambda sandbox), so no Secrets Manager SDK is bundled. The value
// is fetched once per container and cached.
import type { SecretSource } from '../pipeline-ports.ts';

export class ExtensionSecretSource implements SecretSource {
  readonly #secretId: string;
  readonly #port: number;
  readonly #sessionToken: string | undefined;
  #value: Promise<string> | undefined;

  constructor(secretId: string, options: { port?: number; sessionToken?: string } = {}) {
    this.#secretId = secretId;
    this.#port = options.port ?? 2773;
    this.#sessionToken = options.sessionToken ?? process.env.AWS_SESSION_TOKEN;
  }

  get(): Promise<string> {
    this.#value ??= this.#fetch().catch((error: unknown) => {
      this.#value = undefined;
      throw error;
    });
    return this.#value;
  }

  async #fetch(): Promise<string> {
    const url = `http://localhost:${this.#port}/secretsmanager/get?secretId=${encodeURIComponent(this.#secretId)}`;
    const response = await fetch(url, {
      headers: this.#sessionToken ? { 'X-Aws-Parameters-Secrets-Token': this.#sessionToken } : {},
    });
    if (!response.ok) throw new Error(`reading the webhook secret failed: HTTP ${response.status}`);
    const body: unknown = await response.json();
    const value =
      typeof body === 'object' && body !== null && 'SecretString' in body ? body.SecretString : undefined;
    if (typeof value !== 'string' || value.length === 0)
      throw new Error('the webhook secret has no SecretString');
    return value;
  }
}

/** A fixed secret (the embedded mode and tests). */
export class StaticSecretSource implements SecretSource {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  async get(): Promise<string> {
    return this.#value;
  }
}
