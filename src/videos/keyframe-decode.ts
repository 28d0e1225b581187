/**
 * Decoding an imported stream's keyframes in the Worker (WebAssembly builds of libwebp and mozjpeg, @jsquash), so
 * that a keyframe whose headers are right but whose body is not (a corrupt WebP, bytes after its end) is refused at
 * import instead of failing every IT2V reconstruction afterwards. One image at a time, its pixels dropped at once.
 */
import decodeJpeg, { init as initJpeg } from '@jsquash/jpeg/decode';
import decodeWebp, { init as initWebp } from '@jsquash/webp/decode';
import jpegWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import webpWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import type { KeyframeCodec } from '../gpu/contract';
import type { ImageSize } from '../bitstream';
import type { z } from 'zod';

type ContractCodec = z.infer<typeof KeyframeCodec>;

let ready: Promise<void> | undefined;

/** Instantiates both decoders once per isolate (the modules are compiled with the Worker). */
function decoders(): Promise<void> {
  ready ??= Promise.all([initWebp(webpWasm), initJpeg(jpegWasm)]).then(() => undefined);
  return ready;
}

/** The size `data` decodes to as a `codec` image, or null when it does not decode. */
export async function decodedSize(data: Uint8Array, codec: ContractCodec): Promise<ImageSize | null> {
  await decoders();
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  try {
    const image = codec === 'webp' ? await decodeWebp(buffer) : await decodeJpeg(buffer);
    return { width: image.width, height: image.height };
  } catch {
    return null;
  }
}
