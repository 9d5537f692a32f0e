// Content sniffing: real PNG, JPEG and WebP bytes from sharp are recognised; other formats, text and short
// or truncated headers are not.
import sharp from 'sharp';
import { IMAGE_CONTENT_TYPES, sniffImageType } from '../../../shared/image-type.ts';

function image() {
  return sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 10, b: 10 } } });
}

describe('sniffImageType', () => {
  it('recognises PNG, JPEG and WebP produced by an encoder', async () => {
    expect(sniffImageType(await image().png().toBuffer())).toBe('png');
    expect(sniffImageType(await image().jpeg().toBuffer())).toBe('jpeg');
    expect(sniffImageType(await image().webp().toBuffer())).toBe('webp');
    expect(sniffImageType(await image().webp({ lossless: true }).toBuffer())).toBe('webp');
  });

  it('rejects other formats, text, empty and truncated headers', async () => {
    expect(sniffImageType(await image().gif().toBuffer())).toBeUndefined();
    expect(sniffImageType(await image().tiff().toBuffer())).toBeUndefined();
    expect(
      sniffImageType(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>')),
    ).toBeUndefined();
    expect(sniffImageType(new Uint8Array())).toBeUndefined();
    expect(sniffImageType(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
    expect(sniffImageType(new Uint8Array([0xff, 0xd8]))).toBeUndefined();
    // A RIFF container that is not WebP (a WAV file header).
    expect(sniffImageType(new TextEncoder().encode('RIFF\x24\x00\x00\x00WAVEfmt '))).toBeUndefined();
  });

  it('maps each type to its content type', () => {
    expect(IMAGE_CONTENT_TYPES).toEqual({ png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' });
  });
});
