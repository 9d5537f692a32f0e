// The prompt templates: 57 distinct object prompts and a style set, each with exactly one `{}` for the token.
import {
  fillTemplate,
  OBJECT_TEMPLATES,
  STYLE_TEMPLATES,
  templatesFor,
} from '../../../trainer-image/src/train/templates.ts';

describe('templates', () => {
  it('has 57 distinct object templates and distinct style templates, one placeholder each', () => {
    expect(OBJECT_TEMPLATES).toHaveLength(57);
    for (const set of [OBJECT_TEMPLATES, STYLE_TEMPLATES]) {
      expect(new Set(set).size).toBe(set.length);
      for (const template of set) expect(template.split('{}')).toHaveLength(2);
    }
    expect(templatesFor('style')).toBe(STYLE_TEMPLATES);
    expect(templatesFor('object')).toBe(OBJECT_TEMPLATES);
  });

  it('fills in the token', () => {
    expect(fillTemplate('a photo of a {}', '<my-cat>')).toBe('a photo of a <my-cat>');
  });
});
