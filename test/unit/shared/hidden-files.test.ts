// The one rule for hidden files, shared by submit-job and the trainer.
import { isHiddenFile } from '../../../shared/hidden-files.ts';

test.each([
  ['.DS_Store', true],
  ['._photo.jpg', true],
  ['Thumbs.db', true],
  ['desktop.ini', true],
  ['__MACOSX/._a.png', true],
  ['__macosx/a.png', true],
  ['.hidden/a.png', true],
  ['a.png', false],
  ['IMG_0001.JPG', false],
  ['sub/a.png', false],
  ['thumbs.png', false],
])('%s → hidden %s', (path, hidden) => {
  expect(isHiddenFile(path)).toBe(hidden);
});
