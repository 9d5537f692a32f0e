// The console page: a hash-routed app over the console's JSON API — the job list, the new-job form and the job
// page, whose loss chart is the project's one Vega-Lite spec (shared/loss-chart.ts) drawn by Vega as it grows.
// Plain DOM, no framework; served with its types stripped (console/static-assets.ts).

import type { MethodDefaults, MethodName } from '../../shared/methods.ts';
import type { JobDetail, JobRow, OutputFile, SetupView } from '../api-types.ts';

interface VegaView {
  runAsync(): Promise<VegaView>;
  finalize(): void;
}
declare const vega: {
  parse(spec: unknown): unknown;
  View: new (
    runtime: unknown,
    options: { renderer: 'svg'; container: HTMLElement; hover: boolean },
  ) => VegaView;
};
declare const vegaLite: { compile(spec: unknown): { spec: unknown } };

const main = document.getElementById('main') as HTMLElement;
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

// ---- small helpers -------------------------------------------------------------------------------------------

type Child = Node | string | undefined | false;

/** Builds an element; text always goes in as text (nothing the API returns is parsed as HTML). */
function h(tag: string, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(key, value);
  for (const child of children) if (child !== undefined && child !== false) node.append(child);
  return node;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const changes = init.method !== undefined && init.method !== 'GET';
  const response = await fetch(`/api/${path}`, {
    ...init,
    headers: { ...(changes ? { 'x-plateau-console': '1' } : {}), ...(init.headers ?? {}) },
  });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body as T;
}

const fmt = {
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

function pill(status: string): HTMLElement {
  return h('span', { class: `pill ${status.toLowerCase()}`, 'data-status': status }, status.toLowerCase());
}

/** The DVAR ratio against its threshold: a bar that fills toward the threshold mark. */
function ratioBar(ratio: number | undefined, threshold: number | undefined): HTMLElement {
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

function message(kind: 'error' | 'note' | 'success', text: string): HTMLElement {
  return h('div', { class: `message ${kind}` }, text);
}

// ---- routing -------------------------------------------------------------------------------------------------

let stopView: () => void = () => {};

/** Runs `tick` now and every `ms` until the view changes or tick returns false. */
function poll(ms: number, tick: () => Promise<boolean>): () => void {
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

function route(): void {
  stopView();
  stopView = () => {};
  const hash = location.hash.replace(/^#/, '') || '/';
  const job = /^\/jobs\/([A-Za-z0-9_-]+)$/.exec(hash);
  document.querySelectorAll('header nav a').forEach((a) => {
    a.classList.toggle('current', a.getAttribute('href') === `#${hash}`);
  });
  if (job?.[1]) stopView = jobView(job[1]);
  else if (hash === '/new') void newJobView();
  else stopView = jobsView();
}

// ---- the job list --------------------------------------------------------------------------------------------

function jobsView(): () => void {
  const body = h('tbody');
  const empty = h(
    'div',
    { class: 'empty' },
    h('p', {}, 'No jobs yet. Upload a few photos of a concept and watch DVAR decide when it is learned.'),
    h('a', { class: 'button primary', href: '#/new' }, 'New job'),
  );
  const table = h(
    'table',
    { class: 'jobs' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Job', 'Status', 'Step', 'DVAR ratio', 'Budget saved', 'Created'].map((t) => h('th', {}, t)),
      ),
    ),
    body,
  );
  document.title = 'Jobs — plateau';
  main.replaceChildren(h('section', { class: 'card' }, h('h1', {}, 'Jobs'), table, empty));
  return poll(2000, async () => {
    const { jobs } = await api<{ jobs: JobRow[] }>('jobs');
    empty.hidden = jobs.length > 0;
    table.hidden = jobs.length === 0;
    body.replaceChildren(
      ...jobs.map((job) => {
        const s = job.summary;
        const link = h(
          'a',
          { href: `#/jobs/${job.jobId}` },
          h('strong', {}, job.token ?? job.jobId),
          h('span', { class: 'muted id' }, job.jobId),
        );
        const step = s?.step === undefined ? '—' : `${s.step}${job.maxSteps ? ` / ${job.maxSteps}` : ''}`;
        return h(
          'tr',
          { 'data-job': job.jobId },
          h('td', {}, link),
          h('td', {}, pill(job.status)),
          h('td', { class: 'num' }, step),
          h('td', {}, ratioBar(s?.ratio, s?.threshold)),
          h('td', { class: 'num' }, fmt.percent(job.budgetSaved)),
          h('td', { class: 'muted' }, fmt.ago(job.createdAt)),
        );
      }),
    );
    return true;
  });
}

// ---- the new-job form ----------------------------------------------------------------------------------------

/** The advanced settings the form shows, each filled with the chosen method's default. */
const ADVANCED: readonly {
  key: keyof MethodDefaults;
  label: string;
  group: 'training' | 'stop';
  step?: string;
}[] = [
  { key: 'maxSteps', label: 'Max steps (the fixed budget)', group: 'training', step: '1' },
  { key: 'learningRate', label: 'Learning rate', group: 'training', step: 'any' },
  { key: 'batchSize', label: 'Batch size', group: 'training', step: '1' },
  { key: 'scaleLr', label: 'Scale LR by batch size', group: 'training' },
  { key: 'window', label: 'DVAR window W', group: 'stop', step: '1' },
  { key: 'threshold', label: 'DVAR threshold α', group: 'stop', step: 'any' },
  { key: 'evalBatchSize', label: 'Evaluation batch size', group: 'stop', step: '1' },
  { key: 'evalEvery', label: 'Evaluate every N steps', group: 'stop', step: '1' },
];

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', {}, hint) : undefined);
}

/** Photos the pipeline takes (it checks the content again); not dotfiles such as .DS_Store. */
function isPhoto(file: File): boolean {
  return (
    !file.name.startsWith('.') &&
    (/^image\/(png|jpeg|webp)$/.test(file.type) || /\.(png|jpe?g|webp)$/i.test(file.name))
  );
}

/** The files under a dropped entry: the file itself, or everything inside a folder. */
async function filesOf(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) {
    return [
      await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)),
    ];
  }
  if (!entry.isDirectory) return [];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const found: File[] = [];
  // readEntries answers in batches until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) return found;
    for (const child of batch) found.push(...(await filesOf(child)));
  }
}

/** A file name the bucket accepts as one key segment (shared/keys.ts isSafeName). */
function safeName(name: string, index: number): string {
  const cleaned = name.replace(/[^A-Za-z0-9._@+=,()-]/g, '_').replace(/\.\.+/g, '.');
  return /^[A-Za-z0-9]/.test(cleaned) ? cleaned.slice(0, 200) : `image-${index}-${cleaned}`.slice(0, 200);
}

function newJobId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `job-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

async function newJobView(): Promise<void> {
  document.title = 'New job — plateau';
  main.replaceChildren(h('section', { class: 'card' }, h('p', { class: 'muted' }, 'Loading…')));
  const setup = await api<SetupView>('setup');
  let files: File[] = [];

  const picker = h('input', {
    type: 'file',
    id: 'images',
    multiple: '',
    accept: 'image/png,image/jpeg,image/webp',
  }) as HTMLInputElement;
  const folderPicker = h('input', { type: 'file', id: 'folder', webkitdirectory: '' }) as HTMLInputElement;
  const thumbs = h('div', { class: 'thumbs' });
  const count = h('p', {}, 'Drop photos of your concept, or a folder of them, here.');
  const choose = (input: HTMLInputElement, label: string) => {
    const button = h('button', { type: 'button', class: 'button' }, label);
    button.addEventListener('click', () => input.click());
    return button;
  };
  const clear = h('button', { type: 'button', class: 'button', hidden: '' }, 'Clear');
  const drop = h(
    'div',
    { class: 'drop' },
    count,
    h(
      'p',
      { class: 'choose' },
      choose(picker, 'Choose photos'),
      choose(folderPicker, 'Choose a folder'),
      clear,
    ),
    thumbs,
    picker,
    folderPicker,
  );
  const add = (more: readonly File[]) => {
    files = [...files, ...more.filter(isPhoto)];
    thumbs.replaceChildren(
      ...files.map((file) => h('img', { src: URL.createObjectURL(file), alt: file.name, title: file.name })),
    );
    drop.classList.toggle('has-files', files.length > 0);
    clear.hidden = files.length === 0;
    count.textContent = files.length
      ? `${files.length} photo${files.length === 1 ? '' : 's'} — drop or choose more to add them.`
      : 'Drop photos of your concept, or a folder of them, here.';
  };
  clear.addEventListener('click', () => {
    files = [];
    add([]);
  });
  for (const input of [picker, folderPicker]) {
    input.addEventListener('change', () => {
      add([...(input.files ?? [])]);
      input.value = '';
    });
  }
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    // The entries must be taken while the event lasts; a dropped folder is read (recursively) afterwards.
    const entries = [...(event.dataTransfer?.items ?? [])].flatMap((item) => item.webkitGetAsEntry() ?? []);
    void Promise.all(entries.map(filesOf)).then((found) => add(found.flat()));
  });

  const token = h('input', { id: 'token', placeholder: '<my-cat>', required: '' }) as HTMLInputElement;
  const init = h('input', { id: 'init' }) as HTMLInputElement;
  const method = h(
    'select',
    { id: 'method' },
    ...setup.methods.map((m) =>
      setup.trainable.includes(m)
        ? h('option', { value: m }, m)
        : h('option', { value: m, disabled: '' }, `${m} (not in this version yet)`),
    ),
  ) as HTMLSelectElement;
  const model = h(
    'select',
    { id: 'model' },
    ...setup.models.map((m) => h('option', { value: m }, m)),
  ) as HTMLSelectElement;
  const jobId = h('input', { id: 'jobId', value: newJobId() }) as HTMLInputElement;
  // Not a method default: absent means the paper's plain MSE.
  const snrGamma = h('input', { id: 'snrGamma', type: 'number', step: 'any', min: '0' }) as HTMLInputElement;
  // DreamBooth-LoRA's own settings (shared/methods.ts LORA_DEFAULTS), shown for that method only.
  const loraRank = h('input', { id: 'loraRank', type: 'number', step: '1', min: '1' }) as HTMLInputElement;
  const loraAlpha = h('input', {
    id: 'loraAlpha',
    type: 'number',
    step: 'any',
    min: '0',
  }) as HTMLInputElement;
  const loraTargets = h(
    'select',
    { id: 'loraTargets' },
    h('option', { value: 'paper' }, 'paper: attention q/k/v/out + ff.net.0.proj'),
    h('option', { value: 'attention' }, 'attention: the 8 attention projections'),
  ) as HTMLSelectElement;
  loraRank.value = String(setup.lora.rank);
  loraAlpha.placeholder = `rank (default ${setup.lora.alpha})`;
  loraTargets.value = setup.lora.targets;
  const loraFields = h(
    'div',
    { class: 'grid lora' },
    field('LoRA rank', loraRank, `default: ${setup.lora.rank}`),
    field('LoRA alpha', loraAlpha, 'scale = alpha / rank; empty: alpha = rank'),
    field('LoRA targets', loraTargets, `default: ${setup.lora.targets}`),
  );

  const inputs = new Map<keyof MethodDefaults, HTMLInputElement>();
  const hints = new Map<keyof MethodDefaults, HTMLElement>();
  const advancedFields = ADVANCED.map((setting) => {
    const input = h('input', {
      id: setting.key,
      ...(setting.key === 'scaleLr' ? { type: 'checkbox' } : { type: 'number', step: setting.step }),
    }) as HTMLInputElement;
    inputs.set(setting.key, input);
    const hint = h('small', {});
    hints.set(setting.key, hint);
    return h('label', { class: 'field' }, h('span', {}, setting.label), input, hint);
  });
  const applyDefaults = () => {
    const defaults = setup.defaults[method.value as MethodName];
    loraFields.hidden = method.value !== 'dreambooth-lora';
    init.placeholder = defaults.initializerToken;
    for (const setting of ADVANCED) {
      const input = inputs.get(setting.key);
      const value = defaults[setting.key];
      if (!input) continue;
      if (typeof value === 'boolean') input.checked = value;
      else input.value = String(value);
      const hint = hints.get(setting.key);
      if (hint) hint.textContent = `${method.value} default: ${String(value)}`;
    }
  };
  method.addEventListener('change', applyDefaults);
  applyDefaults();

  const status = h('div', { class: 'status' });
  const submit = h('button', { id: 'submit', type: 'submit', class: 'button primary' }, 'Upload and start');
  const form = h(
    'form',
    { class: 'new-job' },
    drop,
    h(
      'div',
      { class: 'grid' },
      field('Token', token, 'the new word the model learns, e.g. <my-cat>'),
      field('Initializer word', init, 'a word close to the concept; its embedding is the start'),
      field('Method', method),
      field('Base model', model, setup.models.length ? 'loaded with plateau up --model' : 'none loaded yet'),
    ),
    h(
      'details',
      { class: 'advanced' },
      h('summary', {}, 'Advanced settings (the method’s defaults)'),
      h(
        'div',
        { class: 'grid' },
        field('Job id', jobId),
        ...advancedFields,
        field('Min-SNR-γ loss weights', snrGamma, 'empty: plain MSE, as in the paper'),
      ),
      loraFields,
    ),
    h('div', { class: 'actions' }, submit, status),
  ) as HTMLFormElement;
  main.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('h1', {}, 'New job'),
      h(
        'p',
        { class: 'muted' },
        'The photos and job.json go to the stack’s bucket exactly as `plateau submit` or any S3 client ',
        'would send them; the pipeline starts when job.json lands.',
      ),
      form,
    ),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const number = (key: keyof MethodDefaults) => Number(inputs.get(key)?.value);
      const chosen = method.value as MethodName;
      if (!token.value.trim()) return status.replaceChildren(message('error', 'Give the token a name.'));
      if (files.length === 0) return status.replaceChildren(message('error', 'Add at least one photo.'));
      submit.setAttribute('disabled', '');
      try {
        const id = jobId.value.trim();
        const names = new Set<string>();
        for (const [i, file] of files.entries()) {
          status.replaceChildren(message('note', `Uploading photo ${i + 1} of ${files.length}…`));
          // A folder can hold two photos of one name (in subfolders): keep both.
          let name = safeName(file.name, i);
          if (names.has(name)) name = `${i}-${name}`;
          names.add(name);
          await api(`jobs/${id}/images/${encodeURIComponent(name)}`, {
            method: 'PUT',
            body: file,
          });
        }
        status.replaceChildren(message('note', 'Uploading job.json…'));
        await api(`jobs/${id}/manifest`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            method: chosen,
            token: token.value.trim(),
            initializerToken: init.value.trim() || setup.defaults[chosen].initializerToken,
            baseModel: model.value,
            training: {
              learningRate: number('learningRate'),
              scaleLr: inputs.get('scaleLr')?.checked ?? true,
              batchSize: number('batchSize'),
              maxSteps: number('maxSteps'),
              ...(snrGamma.value.trim() ? { snrGamma: Number(snrGamma.value) } : {}),
            },
            ...(chosen === 'dreambooth-lora'
              ? {
                  lora: {
                    rank: Number(loraRank.value),
                    targets: loraTargets.value,
                    ...(loraAlpha.value.trim() ? { alpha: Number(loraAlpha.value) } : {}),
                  },
                }
              : {}),
            stop: {
              window: number('window'),
              threshold: number('threshold'),
              evalBatchSize: number('evalBatchSize'),
              evalEvery: number('evalEvery'),
            },
          }),
        });
        location.hash = `#/jobs/${id}`;
      } catch (error) {
        status.replaceChildren(message('error', error instanceof Error ? error.message : String(error)));
        submit.removeAttribute('disabled');
      }
    })();
  });
}

// ---- the job page --------------------------------------------------------------------------------------------

function outputUrl(jobId: string, name: string, download = false): string {
  const path = name.split('/').map(encodeURIComponent).join('/');
  return `/api/jobs/${jobId}/output/${path}${download ? '?download=1' : ''}`;
}

function stat(label: string, value: Node | string, title?: string): HTMLElement {
  return h(
    'div',
    { class: 'stat', title },
    h('span', { class: 'label' }, label),
    h('span', { class: 'value' }, value),
  );
}

/** Describes a file for the downloads list. */
function describe(file: OutputFile, token: string | undefined): string {
  if (file.kind === 'model') {
    if (file.name === `${token}.safetensors`) return 'learned embedding (diffusers, AUTOMATIC1111, ComfyUI)';
    if (file.name.endsWith('-lora.safetensors')) return 'LoRA weights (kohya keys)';
    return 'trained weights';
  }
  if (file.name === 'report.json') return 'report: steps, stop latency, timings, cost';
  if (file.name === 'loss.svg') return 'loss chart';
  if (file.name === 'samples/prompts.json') return 'sample prompts and seed';
  if (file.name === 'samples/contact-sheet.png') return 'all samples on one sheet';
  if (file.name.startsWith('samples/')) return 'validation sample';
  return '';
}

function jobView(jobId: string): () => void {
  const head = h('div', { class: 'job-head' });
  const stats = h('div', { class: 'stats' });
  const banner = h('div', {});
  const chart = h(
    'div',
    { id: 'chart', class: 'chart', 'data-points': '0' },
    h('p', { class: 'muted' }, 'The chart appears with the first loss values.'),
  );
  const samples = h('section', { class: 'card', id: 'samples' });
  const files = h('section', { class: 'card', id: 'files' });
  const manifest = h('section', { class: 'card', id: 'manifest' });
  main.replaceChildren(
    head,
    stats,
    banner,
    h('section', { class: 'card' }, h('h2', {}, 'Deterministic loss and DVAR ratio'), chart),
    samples,
    h('div', { class: 'columns' }, files, manifest),
  );

  // Each part is redrawn only when its data changed, so images do not reload and the chart does not blink.
  const drawn = new Map<string, string>();
  const changed = (part: string, value: unknown) => {
    const key = JSON.stringify(value);
    if (drawn.get(part) === key) return false;
    drawn.set(part, key);
    return true;
  };
  let view: VegaView | undefined;
  let endedSeen = 0;

  const cancel = async (button: HTMLElement) => {
    button.setAttribute('disabled', '');
    try {
      await api(`jobs/${jobId}/cancel`, { method: 'POST' });
    } catch (error) {
      banner.replaceChildren(message('error', error instanceof Error ? error.message : String(error)));
    }
  };

  return poll(1000, async () => {
    let detail: JobDetail;
    try {
      detail = await api<JobDetail>(`jobs/${jobId}`);
    } catch (error) {
      head.replaceChildren(h('h1', {}, jobId));
      banner.replaceChildren(message('error', error instanceof Error ? error.message : String(error)));
      return true;
    }
    const { row } = detail;
    const s = row.summary;
    const final = FINAL.has(row.status);
    const token = detail.manifest?.token;

    if (changed('head', [row.status, token])) {
      document.title = `${token ?? jobId} · ${row.status.toLowerCase()} — plateau`;
      const cancelButton = h('button', { class: 'button danger', id: 'cancel' }, 'Cancel');
      cancelButton.addEventListener('click', () => void cancel(cancelButton));
      head.replaceChildren(
        h(
          'div',
          {},
          h('h1', {}, token ?? jobId, ' ', pill(row.status)),
          h(
            'p',
            { class: 'muted' },
            `${jobId}`,
            detail.manifest
              ? ` · ${detail.manifest.method} on ${detail.manifest.baseModel} · from “${detail.manifest.initializerToken}”`
              : '',
          ),
        ),
        ...(row.status === 'QUEUED' || row.status === 'RUNNING' ? [cancelButton] : []),
      );
    }

    stats.replaceChildren(
      stat('Step', s?.step === undefined ? '—' : `${s.step}${row.maxSteps ? ` / ${row.maxSteps}` : ''}`),
      stat('Deterministic loss', fmt.loss(s?.detLoss)),
      stat(
        'DVAR ratio',
        s?.ratio === undefined && detail.manifest?.stop.criterion === 'dvar'
          ? h('small', { class: 'muted' }, `after ${detail.manifest.stop.window} values`)
          : ratioBar(s?.ratio, s?.threshold),
        s?.threshold ? `stops below ${s.threshold}` : undefined,
      ),
      stat('Criterion held at', fmt.step(s?.criterionStep)),
      stat('Stopped at', final ? fmt.step(s?.lastStep) : '—'),
      stat('Budget saved', fmt.percent(row.budgetSaved)),
    );

    if (changed('banner', [detail.savings, s?.error, row.status])) {
      banner.replaceChildren(
        ...(detail.savings ? [message(row.status === 'SUCCEEDED' ? 'success' : 'note', detail.savings)] : []),
        ...(s?.error ? [message('error', s.error)] : []),
        ...(row.status === 'UPLOADED'
          ? [message('note', 'Uploaded; waiting for the pipeline to pick it up…')]
          : []),
      );
    }

    if (detail.chart && changed('chart', [detail.points, s?.criterionStep, s?.lastStep, row.status])) {
      const compiled = vegaLite.compile(detail.chart).spec;
      const host = h('div', {});
      const next = new vega.View(vega.parse(compiled), { renderer: 'svg', container: host, hover: true });
      await next.runAsync();
      chart.replaceChildren(host);
      view?.finalize();
      view = next;
      chart.dataset.points = String(detail.points);
      chart.dataset.status = row.status;
      if (s?.criterionStep !== undefined) chart.dataset.criterionStep = String(s.criterionStep);
    }

    if (changed('samples', [detail.samples, detail.sampleSeed])) {
      samples.hidden = detail.samples.length === 0;
      samples.replaceChildren(
        h('h2', {}, 'Validation samples'),
        h(
          'p',
          { class: 'muted' },
          `Drawn with the learned token${detail.sampleSeed === undefined ? '' : ` (seed ${detail.sampleSeed})`}.`,
        ),
        h(
          'div',
          { class: 'samples' },
          ...detail.samples.map((sample) =>
            h(
              'figure',
              {},
              h('img', { src: outputUrl(jobId, sample.file), alt: sample.prompt, loading: 'lazy' }),
              h('figcaption', {}, sample.prompt),
            ),
          ),
        ),
      );
    }

    if (changed('files', detail.files)) {
      files.hidden = detail.files.length === 0;
      files.replaceChildren(
        h('h2', {}, 'Downloads'),
        h(
          'ul',
          { class: 'files' },
          ...detail.files.map((file) =>
            h(
              'li',
              {},
              h(
                'a',
                {
                  href: outputUrl(jobId, file.name, true),
                  download: file.name.split('/').pop(),
                  'data-file': file.name,
                },
                file.name,
              ),
              h('span', { class: 'muted' }, ` ${fmt.bytes(file.size)} `),
              h('small', { class: 'muted' }, describe(file, token)),
            ),
          ),
        ),
      );
    }

    if (detail.manifest && changed('manifest', detail.manifest)) {
      manifest.replaceChildren(
        h('h2', {}, 'job.json'),
        h('pre', {}, JSON.stringify(detail.manifest, null, 2)),
      );
    }
    manifest.hidden = !detail.manifest;
    // One more look after the end, then stop: nothing changes on an ended job.
    if (!final) return true;
    endedSeen += 1;
    return endedSeen < 2;
  });
}

window.addEventListener('hashchange', route);
route();
