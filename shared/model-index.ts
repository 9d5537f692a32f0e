// What plateau reads from a diffusers pipeline's model_index.json beyond diffusers' own keys: the classifier-free
// guidance the model's samples are drawn at when a job names none. Models made by models/ record the scale their
// maker chose (the embedded model: 3; SD's usual 7.5 over-saturates it); other exports carry nothing.

/** The key models/ writes: a number, the guidance scale its samples look right at. */
export const SAMPLE_GUIDANCE_KEY = '_plateau_sample_guidance';

/** The guidance a parsed model_index.json asks for, or undefined (absent, or not a sensible scale). */
export function sampleGuidanceOf(modelIndex: unknown): number | undefined {
  if (typeof modelIndex !== 'object' || modelIndex === null) return undefined;
  const value = (modelIndex as Record<string, unknown>)[SAMPLE_GUIDANCE_KEY];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 100 ? value : undefined;
}
