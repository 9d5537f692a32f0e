// Reads a folder of images a job uploads (the instance images, or Custom Diffusion's class images) and checks
// each by its content, so a stray file fails the command here rather than the job later.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isHiddenFile } from '../shared/hidden-files.ts';
import { IMAGE_CONTENT_TYPES, sniffImageType } from '../shared/image-type.ts';

export interface FolderImage {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly contentType: string;
}

/**
 * The image files of a folder (not subfolders, not hidden files: shared/hidden-files.ts), in name order, each a PNG, JPEG or WebP by its
 * content; `what` names the folder in errors (e.g. "--class-dir").
 */
export async function readImageFolder(dir: string, what = '--images'): Promise<FolderImage[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    const reason =
      error.code === 'ENOENT' ? 'no such folder' : error.code === 'ENOTDIR' ? 'not a folder' : error.message;
    throw new Error(`${what} ${dir}: ${reason}`);
  });
  const names = entries
    .filter((e) => e.isFile() && !isHiddenFile(e.name))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) throw new Error(`no image files in ${dir} (${what})`);
  const images: FolderImage[] = [];
  for (const name of names) {
    const bytes = new Uint8Array(await readFile(join(dir, name)));
    const type = sniffImageType(bytes);
    if (!type) throw new Error(`${name} is not a PNG, JPEG or WebP image (by its content; ${what} ${dir})`);
    images.push({ name, bytes, contentType: IMAGE_CONTENT_TYPES[type] });
  }
  return images;
}
