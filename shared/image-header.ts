// An image's size from its headers, without decoding it: PNG (IHDR), JPEG (the SOF segment) and WebP (VP8, VP8L,
// VP8X), plus the checks that catch a cut-off upload (PNG's IEND, WebP's RIFF size, JPEG's end marker). submit-job
// refuses bombs and truncated files with it before any GPU starts; the trainer's decoder shares the pixel limit.
import { type ImageType, sniffImageType } from './image-type.ts';

/**
 * The most pixels an image may have (width × height, before any crop): 128 Mi, so a 108-megapixel phone photo
 * passes and its decode (4 bytes a pixel) stays within 512 MiB, while a PNG of a few kilobytes that declares
 * 100000 × 100000 pixels (a decompression bomb: 40 GB decoded) is refused from its header. The trainer gives sharp
 * the same number (`limitInputPixels`).
 */
export const MAX_IMAGE_PIXELS = 128 * 1024 * 1024;

export interface ImageHeader {
  readonly type: ImageType;
  readonly width: number;
  readonly height: number;
}

/** Why an image was refused (the caller adds the file name). */
export class ImageHeaderError extends Error {
  override readonly name = 'ImageHeaderError';
}

/** Reads bytes [start, end] inclusive of the object (a ranged GET, or a slice of a buffer). */
export type ByteReader = (start: number, end: number) => Promise<Uint8Array>;

/** How many leading bytes identify every format and hold PNG's and WebP's dimensions. */
const HEAD_BYTES = 64;

const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u32be = (b: Uint8Array, i: number) => u16be(b, i) * 0x10000 + u16be(b, i + 2);
const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => u16le(b, i) + b[i + 2]! * 0x10000;
const u32le = (b: Uint8Array, i: number) => u16le(b, i) + u16le(b, i + 2) * 0x10000;
const fourCc = (b: Uint8Array, i: number) => String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);

/**
 * The type and size of an image of `size` bytes, read through `read`; throws ImageHeaderError for anything that
 * is not a PNG, JPEG or WebP, is cut off, declares no pixels, or declares more than MAX_IMAGE_PIXELS. PNG and WebP
 * cost two small reads; a JPEG is read whole (its end can only be found by walking its segments).
 */
export async function readImageHeader(size: number, read: ByteReader): Promise<ImageHeader> {
  const head = size > 0 ? await read(0, Math.min(size, HEAD_BYTES) - 1) : new Uint8Array();
  const type = sniffImageType(head);
  if (type === undefined) throw new ImageHeaderError('is not a PNG, JPEG or WebP file (checked by content)');
  let dims: { width: number; height: number };
  if (type === 'png') dims = await pngSize(head, size, read);
  else if (type === 'webp') dims = webpSize(head, size);
  else dims = jpegSize(size <= HEAD_BYTES ? head : await read(0, size - 1));
  const { width, height } = dims;
  if (width < 1 || height < 1) throw new ImageHeaderError(`declares ${width}×${height} pixels`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageHeaderError(
      `declares ${width}×${height} = ${width * height} pixels; the limit is ${MAX_IMAGE_PIXELS} ` +
        '(an image that large is either a decompression bomb or far more than training uses)',
    );
  }
  return { type, width, height };
}

/** PNG: IHDR must be the first chunk (width and height at bytes 16–23); the last chunk must be IEND. */
async function pngSize(head: Uint8Array, size: number, read: ByteReader) {
  if (head.length < 24 || fourCc(head, 12) !== 'IHDR')
    throw new ImageHeaderError('is truncated (no PNG header)');
  const tail = await read(size - 12, size - 1);
  // An IEND chunk: length 0, type IEND, CRC AE 42 60 82.
  if (u32be(tail, 0) !== 0 || fourCc(tail, 4) !== 'IEND' || u32be(tail, 8) !== 0xae426082) {
    throw new ImageHeaderError('is truncated (the PNG does not end with its IEND chunk)');
  }
  return { width: u32be(head, 16), height: u32be(head, 20) };
}

/** WebP: the RIFF size covers the whole file; the first chunk says the canvas size. */
function webpSize(head: Uint8Array, size: number) {
  const riffSize = u32le(head, 4) + 8;
  if (riffSize > size)
    throw new ImageHeaderError(`is truncated (the WebP says ${riffSize} bytes, ${size} are here)`);
  if (head.length < 30) throw new ImageHeaderError('is truncated (no WebP header)');
  const chunk = fourCc(head, 12);
  if (chunk === 'VP8X') return { width: u24le(head, 24) + 1, height: u24le(head, 27) + 1 };
  if (chunk === 'VP8L') {
    if (head[20] !== 0x2f) throw new ImageHeaderError('is not a valid WebP (bad VP8L signature)');
    const bits = u32le(head, 21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ') {
    // A key frame's start code 9D 01 2A, then 14-bit width and height (the top two bits are scaling).
    if (head[23] !== 0x9d || head[24] !== 0x01 || head[25] !== 0x2a)
      throw new ImageHeaderError('is not a valid WebP (bad VP8 start code)');
    return { width: u16le(head, 26) & 0x3fff, height: u16le(head, 28) & 0x3fff };
  }
  throw new ImageHeaderError(`is not a valid WebP (first chunk ${JSON.stringify(chunk)})`);
}

/** Start-of-frame markers (C0–CF except DHT C4, JPG C8 and DAC CC): they carry the frame's height and width. */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * JPEG: walks the segments from SOI to the first EOI, skipping each segment by its length and each scan's
 * entropy-coded data up to the next marker (a 0xFF there is followed by 00 or a restart marker). Reaching the end
 * of the bytes first means the file was cut off. Bytes after EOI (a Motion Photo's video, say) are allowed.
 */
function jpegSize(bytes: Uint8Array) {
  const truncated = () => new ImageHeaderError('is truncated (the JPEG ends before its end-of-image marker)');
  let frame: { width: number; height: number } | undefined;
  let i = 2;
  for (;;) {
    if (i >= bytes.length) throw truncated();
    if (bytes[i] !== 0xff) throw new ImageHeaderError(`is not a valid JPEG (no marker at byte ${i})`);
    while (bytes[i] === 0xff) i++; // fill bytes
    if (i >= bytes.length) throw truncated();
    const marker = bytes[i++]!;
    if (marker === 0xd9) {
      if (!frame) throw new ImageHeaderError('is not a valid JPEG (no frame header before its end)');
      return frame;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // no length
    if (i + 2 > bytes.length) throw truncated();
    const length = u16be(bytes, i);
    if (length < 2 || i + length > bytes.length) throw truncated();
    if (isSof(marker) && !frame) {
      if (length < 7) throw new ImageHeaderError('is not a valid JPEG (short frame header)');
      frame = { height: u16be(bytes, i + 3), width: u16be(bytes, i + 5) };
    }
    i += length;
    if (marker === 0xda) {
      // Entropy-coded data: stop at 0xFF followed by anything but 00 (stuffing) or D0–D7 (restarts).
      for (;;) {
        i = bytes.indexOf(0xff, i);
        if (i < 0 || i + 1 >= bytes.length) throw truncated();
        const next = bytes[i + 1]!;
        if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7)) break;
        i += 2;
      }
    }
  }
}
