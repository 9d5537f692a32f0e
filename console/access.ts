// Who may use the console: only this machine (it listens on 127.0.0.1 and checks the Host header, so a web
// page elsewhere cannot reach it through DNS rebinding) and only with this start's random token, given once in
// the URL and then kept in an HttpOnly, SameSite=Strict cookie; changes also need a header no form can send.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The header every state-changing request carries (a cross-site form cannot set it without a preflight). */
export const CHANGE_HEADER = 'x-plateau-console';

export function newConsoleToken(): string {
  return randomBytes(24).toString('base64url');
}

/** One cookie per port, so two stacks on one machine do not sign each other out. */
export function cookieName(port: number): string {
  return `plateau_console_${port}`;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

export type Access =
  | { readonly kind: 'denied'; readonly reason: string }
  /** The token came in the URL: set the cookie and redirect to the same path without it. */
  | { readonly kind: 'sign-in'; readonly setCookie: string }
  | { readonly kind: 'allowed' };

/** Decides a request: Host must be this server, then the token by cookie or `?token=`. */
export function checkAccess(request: IncomingMessage, url: URL, port: number, token: string): Access {
  const host = request.headers.host ?? '';
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
    return { kind: 'denied', reason: `unexpected Host header '${host.slice(0, 80)}'` };
  }
  const name = cookieName(port);
  const fromUrl = url.searchParams.get('token') ?? undefined;
  if (fromUrl !== undefined && request.method === 'GET') {
    if (!sameToken(fromUrl, token)) return { kind: 'denied', reason: 'wrong token' };
    return {
      kind: 'sign-in',
      setCookie: `${name}=${token}; HttpOnly; SameSite=Strict; Path=/`,
    };
  }
  if (!sameToken(cookieValue(request.headers.cookie, name), token)) {
    return { kind: 'denied', reason: 'open the URL `plateau up` printed (it carries this start’s token)' };
  }
  const changes = request.method !== 'GET' && request.method !== 'HEAD';
  if (changes && request.headers[CHANGE_HEADER] !== '1') {
    return { kind: 'denied', reason: `a change needs the ${CHANGE_HEADER} header` };
  }
  return { kind: 'allowed' };
}
