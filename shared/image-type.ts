// Identifies an image by its content, not its name: PNG, JPEG or WebP signatures. The submit-job Lambda checks
// uploads with it, and the trainer names the real type when an image fails to decode.

export type ImageType = 'png' | 'jpeg' | 'webp';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((byte, i) => bytes[offset + i] === byte);
}

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

/**
 * The image type from the first bytes, or undefined for anything else (including GIF, TIFF, HEIC, SVG).
 * PNG: the 8-byte signature. JPEG: SOI marker FF D8 followed by the FF of the next marker.
 * WebP: a RIFF container (`RIFF` <size> `WEBP`), 12 bytes.
 */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  return undefined;
}

/** The content type to store an image under (S3 objects, artifacts). */
export const IMAGE_CONTENT_TYPES: Readonly<Record<ImageType, string>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};
