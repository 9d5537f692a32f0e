// The method defaults live in one table (shared/methods.ts): the manifest's defaults, the DVAR table the monitor
// and benchmarks read, the trainer's run defaults, `plateau train`'s help and docs/methods.md all agree with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainCommand } from '../../../cli/commands/train.ts';
import { DVAR_DEFAULTS } from '../../../shared/dvar.ts';
import { JobManifest, parseManifest, TRAINABLE_METHODS } from '../../../shared/manifest.ts';
import {
  CUSTOM_DIFFUSION_DEFAULTS,
  LORA_DEFAULTS,
  METHOD_DEFAULTS,
  METHODS,
} from '../../../shared/methods.ts';
import { runDefaults } from '../../../trainer-image/src/train/personalize.ts';
import { packageRoot } from '../../support/fixtures.ts';

const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe('method defaults', () => {
  it.each(TRAINABLE_METHODS)('%s: the manifest fills every default from the table', (method) => {
    const d = METHOD_DEFAULTS[method];
    const m = JobManifest.parse({ method, token: '<x>' });
    expect(m.initializerToken).toBe(d.initializerToken);
    expect(m.training).toMatchObject({
      learningRate: d.learningRate,
      scaleLr: d.scaleLr,
      batchSize: d.batchSize,
      maxSteps: d.maxSteps,
    });
    expect(m.stop).toMatchObject({
      window: d.window,
      threshold: d.threshold,
      evalBatchSize: d.evalBatchSize,
      evalEvery: d.evalEvery,
    });
    expect(runDefaults(method)).toMatchObject({ learningRate: d.learningRate, maxSteps: d.maxSteps });
  });

  it('gives the monitor and benchmarks the same DVAR settings', () => {
    for (const m of METHODS) {
      const d = METHOD_DEFAULTS[m];
      expect(DVAR_DEFAULTS[m]).toEqual({ window: d.window, threshold: d.threshold, maxSteps: d.maxSteps });
    }
  });

  it("shows each method's defaults in plateau train's help", () => {
    for (const m of METHODS) {
      const d = METHOD_DEFAULTS[m];
      expect(trainCommand.usage).toContain(`${m}: lr ${d.learningRate}`);
      expect(trainCommand.usage).toContain(`cap ${d.maxSteps}, DVAR W=${d.window} α=${d.threshold}`);
    }
    expect(trainCommand.usage).toContain(`rank ${LORA_DEFAULTS.rank}`);
  });

  it('matches the defaults table in docs/methods.md', () => {
    const doc = readFileSync(join(packageRoot(), 'docs', 'methods.md'), 'utf8');
    for (const m of METHODS) {
      const d = METHOD_DEFAULTS[m];
      const row = doc.split('\n').find((line) => line.startsWith(`| ${m} |`));
      expect(row).toBeDefined();
      const cells = row!
        .split('|')
        .map((c) => c.trim())
        .filter((c) => c !== '');
      expect(cells.slice(1).map((c) => (Number.isNaN(Number(c)) ? c : Number(c)))).toEqual([
        d.learningRate,
        d.batchSize,
        d.maxSteps,
        d.window,
        d.threshold,
        d.evalEvery,
        d.initializerToken,
      ]);
    }
  });
});

describe('the manifest per method', () => {
  it('keeps {"token"} a textual-inversion job and gives LoRA its own fields', () => {
    expect(parseManifest(bytes({ token: '<x>' })).method).toBe('textual-inversion');
    const lora = parseManifest(bytes({ method: 'dreambooth-lora', token: '<x>', lora: { rank: 8 } }));
    expect(lora).toMatchObject({ lora: { rank: 8, alpha: 8, targets: 'paper' } });
  });

  it('gives Custom Diffusion its own fields with the paper defaults', () => {
    const cd = parseManifest(bytes({ method: 'custom-diffusion', token: '<x>' }));
    expect(cd).toMatchObject({
      method: 'custom-diffusion',
      initializerToken: 'ktn',
      customDiffusion: CUSTOM_DIFFUSION_DEFAULTS,
    });
    expect(
      parseManifest(
        bytes({ method: 'custom-diffusion', token: '<x>', customDiffusion: { classWord: 'cat statue' } }),
      ),
    ).toMatchObject({ customDiffusion: { classWord: 'cat statue', classImages: 200 } });
    expect(() =>
      parseManifest(
        bytes({ method: 'custom-diffusion', token: '<x>', customDiffusion: { classWord: 'a/b' } }),
      ),
    ).toThrow(/customDiffusion.classWord/);
  });

  it('refuses an unknown method and bad LoRA values, with reasons', () => {
    expect(() => parseManifest(bytes({ method: 'dreambooth', token: '<x>' }))).toThrow(/method/);
    expect(() =>
      parseManifest(bytes({ method: 'dreambooth-lora', token: '<x>', lora: { targets: 'all' } })),
    ).toThrow(/lora.targets/);
    expect(() =>
      parseManifest(bytes({ method: 'dreambooth-lora', token: '<x>', lora: { rank: 0 } })),
    ).toThrow(/lora.rank/);
  });
});
