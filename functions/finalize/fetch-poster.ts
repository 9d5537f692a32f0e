// HttpPoster on the global fetch, with a per-request timeout so a slow receiver cannot hold the Lambda.
import type { HttpPoster } from '../../shared/pipeline-ports.ts';

export function fetchPoster(timeoutMs = 10_000): HttpPoster {
  return {
    async post(url, body, headers) {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      return response.status;
    },
  };
}
