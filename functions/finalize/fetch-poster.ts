// HttpPoster for webhooks over node:https, with a per-request timeout so a slow receiver cannot hold the
// Lambda, and only to public addresses: the name is resolved by the connection's own lookup, which refuses
// private, loopback and link-local answers, so the address checked is the address connected to (no rebinding).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { HttpPoster } from '../../shared/pipeline-ports.ts';
import { isPublicAddress } from './public-address.ts';

const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused || addresses.length === 0) {
      const why = refused ? `resolves to a non-public address (${refused.address})` : 'has no address';
      return callback(new Error(`webhook host ${hostname} ${why}`), '', 0);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0] as LookupAddress;
    return callback(null, first.address, first.family);
  });
};

export function fetchPoster(timeoutMs = 10_000): HttpPoster {
  return {
    post(url, body, headers) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      // An address literal is never looked up, so it is checked here.
      if (isIP(host) !== 0 && !isPublicAddress(host))
        return Promise.reject(new Error(`webhook host ${host} is not a public address`));
      return new Promise<number>((resolve, reject) => {
        const req = request(
          url,
          { method: 'POST', headers, lookup: guardedLookup, timeout: timeoutMs },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`webhook timed out after ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    },
  };
}
