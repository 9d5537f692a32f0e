// A job's page: status and numbers, the savings line, the loss chart (shared/loss-chart.ts's spec, compiled by
// Vega-Lite and drawn by Vega as samples arrive), validation samples, downloads, job.json and cancel.
import type { JobDetail, OutputFile } from '../api-types.ts';
import { api, FINAL, fmt, h, message, pill, poll, ratioBar } from './dom.ts';

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
    if (file.name === 'pytorch_custom_diffusion_weights.safetensors') {
      return 'Custom Diffusion K/V weights (diffusers load_attn_procs)';
    }
    if (file.name.endsWith('-cd-delta.safetensors')) return 'K/V deltas W − W₀ (kohya .diff keys)';
    return 'trained weights';
  }
  if (file.name === 'report.json') return 'report: steps, stop latency, timings, cost';
  if (file.name === 'loss.svg') return 'loss chart';
  if (file.name === 'samples/prompts.json') return 'sample prompts and seed';
  if (file.name === 'samples/contact-sheet.png') return 'all samples on one sheet';
  if (file.name.startsWith('samples/')) return 'validation sample';
  return '';
}

/** Draws the job's page into `main`; returns the function that stops its refresh. */
export function jobView(main: HTMLElement, jobId: string): () => void {
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
      // Both are drawn again from the next good answer.
      drawn.delete('head');
      drawn.delete('banner');
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
          `Drawn with the learned token${detail.sampleSeed === undefined ? '' : ` (seed ${detail.sampleSeed})`}` +
            (detail.samples.some((s) => s.before)
              ? '; below each, the same prompt and seed with the initializer word on the base model (before).'
              : '.'),
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
              ...(sample.before
                ? [
                    h('img', {
                      src: outputUrl(jobId, sample.before.file),
                      alt: sample.before.prompt,
                      loading: 'lazy',
                      class: 'before',
                    }),
                    h('figcaption', { class: 'muted' }, `before: ${sample.before.prompt}`),
                  ]
                : []),
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
