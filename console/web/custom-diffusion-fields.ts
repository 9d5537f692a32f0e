// Custom Diffusion's own settings in the new-job form, shown for that method only: the class word, the class
// images and prior preservation, and random rescale; sent as job.json's `customDiffusion`.
import type { SetupView } from '../api-types.ts';
import { field, h } from './dom.ts';

export interface CustomDiffusionFields {
  readonly element: HTMLElement;
  /** Sets random rescale and says where the value came from ("plateau-world-32 setting: off"). */
  setRescale(value: boolean, source: string): void;
  /** The class word a blank field stands for follows the initializer word as it is typed. */
  followInitializer(word: string): void;
  /** job.json's `customDiffusion` as the fields hold it. */
  value(): Record<string, unknown>;
}

export function customDiffusionFields(setup: SetupView): CustomDiffusionFields {
  const defaults = setup.customDiffusion;
  const number = (id: string, step: string, value: number) =>
    h('input', { id, type: 'number', step, min: '0', value: String(value) }) as HTMLInputElement;
  const classWord = h('input', { id: 'classWord' }) as HTMLInputElement;
  const classImages = number('classImages', '1', defaults.classImages);
  const priorLossWeight = number('priorLossWeight', 'any', defaults.priorLossWeight);
  const prior = h('input', { id: 'priorPreservation', type: 'checkbox' }) as HTMLInputElement;
  const rescale = h('input', { id: 'randomRescale', type: 'checkbox' }) as HTMLInputElement;
  const rescaleHint = h('small', {});
  prior.checked = defaults.priorPreservation;
  // Class images and their loss weight only matter with prior preservation.
  const syncPrior = () => {
    classImages.disabled = !prior.checked;
    priorLossWeight.disabled = !prior.checked;
  };
  prior.addEventListener('change', syncPrior);
  syncPrior();
  // A user who typed "cat" as the initializer word means "a photo of a <tok> cat"; the schema's `object` is
  // for a job that names no word at all (Custom Diffusion's own initializer, `ktn`, is no class).
  let initializer = '';
  const classWordOf = () => classWord.value.trim() || initializer || defaults.classWord;
  const element = h(
    'div',
    { class: 'grid custom-diffusion' },
    field('Class word', classWord, `empty: the initializer word, else ${defaults.classWord}`),
    field('Class images', classImages, `for prior preservation; default: ${defaults.classImages}`),
    field('Prior preservation', prior, `default: ${defaults.priorPreservation ? 'on' : 'off'}`),
    field('Prior loss weight', priorLossWeight, `default: ${defaults.priorLossWeight}`),
    field('Random rescale', rescale, rescaleHint),
  );
  const followInitializer = (word: string) => {
    initializer = word.trim();
    classWord.placeholder = initializer || defaults.classWord;
  };
  followInitializer('');
  return {
    element,
    followInitializer,
    setRescale: (value, source) => {
      rescale.checked = value;
      rescaleHint.textContent = `${source}: ${value ? 'on' : 'off'}`;
    },
    value: () => ({
      classWord: classWordOf(),
      classImages: Number(classImages.value),
      priorPreservation: prior.checked,
      priorLossWeight: Number(priorLossWeight.value),
      randomRescale: rescale.checked,
    }),
  };
}
