// The page's small toolkit: an element builder that only ever inserts text (nothing from the API is parsed as
// HTML), the API client, number formats, and the status pill and DVAR-ratio bar both views show.
type Child = Node | string | undefined | false;

/** Builds an element; text always goes in as text (nothing the API returns is parsed as HTML). */
export function h(
  tag: string,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(key, value);
  for (const child of children) if (child !== undefined && child !== false) node.append(child);
  return node;
}

/** A labelled form field with an optional hint under it. */
export function field(label: string, input: HTMLElement, hint?: string | HTMLElement): HTMLElement {
  const small = typeof hint === 'string' ? h('small', {}, hint) : hint;
  return h('label', { class: 'field' }, h('span', {}, label), input, small);
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const changes = init.method !== undefined && init.method !== 'GET';
  const response = await fetch(`/api/${path}`, {
    ...init,
    headers: { ...(changes ? { 'x-plateau-console': '1' } : {}), ...(init.headers ?? {}) },
  });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body as T;
}

export const fmt = {
  ratio: (v: number | undefined) => (v === undefined ? '—' : v.toFixed(3)),
  loss: (v: number | undefined) => (v === undefined ? '—' : v.toPrecision(4)),
  step: (v: number | undefined) => (v === undefined ? '—' : String(v)),
  percent: (v: number | undefined) => (v === undefined ? '—' : `${Math.round(v * 100)}%`),
  bytes: (n: number) =>
    n < 1024
      ? `${n} B`
      : n < 1024 ** 2
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${(n / 1024 ** 2).toFixed(1)} MiB`,
  ago: (iso: string | undefined) => {
    if (!iso) return '';
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 60) return `${Math.round(s)} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    return new Date(iso).toLocaleString();
  },
};

export function pill(status: string): HTMLElement {
  return h('span', { class: `pill ${status.toLowerCase()}`, 'data-status': status }, status.toLowerCase());
}

/** The DVAR ratio against its threshold: a bar that fills toward the threshold mark. */
export function ratioBar(ratio: number | undefined, threshold: number | undefined): HTMLElement {
  const bar = h('span', { class: 'ratio-bar' });
  if (ratio !== undefined) {
    const fill = h('span', { class: `fill${threshold !== undefined && ratio < threshold ? ' held' : ''}` });
    fill.style.width = `${Math.min(1, ratio) * 100}%`;
    bar.append(fill);
  }
  if (threshold !== undefined) {
    const mark = h('span', { class: 'mark', title: `threshold ${threshold}` });
    mark.style.left = `${threshold * 100}%`;
    bar.append(mark);
  }
  return h('span', { class: 'ratio' }, bar, h('span', { class: 'num' }, fmt.ratio(ratio)));
}

export function message(kind: 'error' | 'note' | 'success', text: string): HTMLElement {
  return h('div', { class: `message ${kind}` }, text);
}

/** Statuses after which nothing changes. */
export const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Runs `tick` now and every `ms` until the view changes or tick returns false. */
export function poll(ms: number, tick: () => Promise<boolean>): () => void {
  let live = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    let again = true;
    try {
      again = await tick();
    } catch (error) {
      console.error(error);
    }
    if (live && again) timer = setTimeout(run, ms);
  };
  void run();
  return () => {
    live = false;
    clearTimeout(timer);
  };
}
