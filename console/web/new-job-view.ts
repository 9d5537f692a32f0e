// The new-job form: photos (files or folders, dropped or chosen), token, initializer word, method and base
// model, and advanced settings filled with the method's defaults and the chosen model's own settings (the
// embedded model's rates, as the CLI fills them); uploads the images, then job.json.
import type { MethodDefaults, MethodName } from '../../shared/methods.ts';
import type { SetupView } from '../api-types.ts';
import { customDiffusionFields } from './custom-diffusion-fields.ts';
import { api, field, h, message } from './dom.ts';
import { photoDrop } from './photo-drop.ts';

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

/** A file name the bucket accepts as one key segment (shared/keys.ts isSafeName). */
function safeName(name: string, index: number): string {
  const cleaned = name.replace(/[^A-Za-z0-9._@+=,()-]/g, '_').replace(/\.\.+/g, '.');
  return /^[A-Za-z0-9]/.test(cleaned) ? cleaned.slice(0, 200) : `image-${index}-${cleaned}`.slice(0, 200);
}

function newJobId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `job-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Draws the form into `main`. */
export async function newJobView(main: HTMLElement): Promise<void> {
  document.title = 'New job — plateau';
  main.replaceChildren(h('section', { class: 'card' }, h('p', { class: 'muted' }, 'Loading…')));
  const setup = await api<SetupView>('setup');
  const photos = photoDrop();

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
  // Not method defaults: absent means the paper's plain MSE, and the token row at the learning rate. A model with
  // its own settings (setup.modelTraining) fills them.
  const snrGamma = h('input', { id: 'snrGamma', type: 'number', step: 'any', min: '0' }) as HTMLInputElement;
  const snrGammaHint = h('small', {});
  const tokenLr = h('input', {
    id: 'tokenLearningRate',
    type: 'number',
    step: 'any',
    min: '0',
  }) as HTMLInputElement;
  const tokenLrHint = h('small', {});
  const customDiffusion = customDiffusionFields(setup);
  init.addEventListener('input', () => customDiffusion.followInitializer(init.value));
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
  // The settings a base model may have its own values for; refilled when the method or the model changes.
  const applyModelSettings = () => {
    const chosen = method.value as MethodName;
    const own = setup.modelTraining[model.value]?.[chosen];
    const learningRate = inputs.get('learningRate');
    const learningRateHint = hints.get('learningRate');
    if (learningRate && learningRateHint) {
      const rate = own?.learningRate ?? setup.defaults[chosen].learningRate;
      learningRate.value = String(rate);
      learningRateHint.textContent = own ? `${model.value} setting: ${rate}` : `${chosen} default: ${rate}`;
    }
    tokenLr.value = own?.tokenLearningRate === undefined ? '' : String(own.tokenLearningRate);
    tokenLrHint.textContent =
      own?.tokenLearningRate === undefined
        ? 'empty: the learning rate'
        : `${model.value} setting: ${own.tokenLearningRate}`;
    snrGamma.value = own?.snrGamma === undefined ? '' : String(own.snrGamma);
    snrGammaHint.textContent =
      own?.snrGamma === undefined
        ? 'empty: plain MSE, as in the paper'
        : `${model.value} setting: ${own.snrGamma}`;
    if (own?.randomRescale === undefined) {
      customDiffusion.setRescale(setup.customDiffusion.randomRescale, 'custom-diffusion default');
    } else customDiffusion.setRescale(own.randomRescale, `${model.value} setting`);
  };
  const applyDefaults = () => {
    const defaults = setup.defaults[method.value as MethodName];
    loraFields.hidden = method.value !== 'dreambooth-lora';
    customDiffusion.element.hidden = method.value !== 'custom-diffusion';
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
    applyModelSettings();
  };
  method.addEventListener('change', applyDefaults);
  model.addEventListener('change', applyModelSettings);
  applyDefaults();

  const status = h('div', { class: 'status' });
  const submit = h('button', { id: 'submit', type: 'submit', class: 'button primary' }, 'Upload and start');
  const form = h(
    'form',
    { class: 'new-job' },
    photos.element,
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
      h('summary', {}, 'Advanced settings (the method’s defaults, or the model’s own)'),
      h(
        'div',
        { class: 'grid' },
        field('Job id', jobId),
        ...advancedFields,
        field('Token learning rate', tokenLr, tokenLrHint),
        field('Min-SNR-γ loss weights', snrGamma, snrGammaHint),
      ),
      loraFields,
      customDiffusion.element,
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
      const files = photos.files();
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
              ...(tokenLr.value.trim() ? { tokenLearningRate: Number(tokenLr.value) } : {}),
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
            ...(chosen === 'custom-diffusion' ? { customDiffusion: customDiffusion.value() } : {}),
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
