/**
 * Golden vectors for the CMVC bitstream: `npx tsx scripts/make-vectors.ts` writes test/vectors/*.cmvc and
 * *.inspect.json. test/node/bitstream-vectors.test.ts rebuilds them in memory and compares byte for byte, so a
 * change to the writer's output (the format, the text dictionary, the deflate settings) fails loudly; rerun
 * this script only for an intended, versioned change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zlibSync } from 'fflate';
import { crc32, cutBitstream, inspectBitstream, writeBitstream, type Bitstream } from '../src/bitstream';

export const VECTORS_DIR = fileURLToPath(new URL('../test/vectors/', import.meta.url));

/** A real 1×1 lossless WebP (34 bytes). */
export const WEBP_1X1 = Uint8Array.from(atob('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=='), (c) => c.charCodeAt(0));

/** A real 8×6 RGB PNG (a warm gradient), built deterministically with fflate's zlib. */
export function tinyPng(width = 8, height = 6): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const t = new TextEncoder().encode(type);
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(t, 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(data, crc32(t)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, RGB, deflate, no filter method, no interlace
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0; // filter: none
    for (let x = 0; x < width; x++) raw.set([200 + x * 6, 120 + y * 10, 60 + x * 4], y * (1 + width * 3) + 1 + x * 3);
  }
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', zlibSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

export const ONE_SEGMENT: Bitstream = {
  header: {
    width: 320,
    height: 240,
    fpsNum: 24,
    fpsDen: 1,
    frameCount: 96,
    durationMs: 4000,
    engineId: 'cmvc-reference',
    engineVersion: '0.1.0',
    models: { mllm: 'reference-captioner@1', t2v: 'reference-t2v@1' },
    seed: 0,
  },
  segments: [
    {
      startFrame: 0,
      frameCount: 96,
      contentText:
        'a scene 320x240, mostly dark grey and brown; top-left: dark blue-grey; top: grey; top-right: light grey; left: brown; centre: white cup; right: brown; bottom-left: dark brown; bottom: brown table; bottom-right: dark grey; brightness medium, contrast low, dominant hues orange and blue',
      motionText: 'the camera pans right about 2.1% of the width per second and slowly zooms in; little object motion',
      keyframes: [],
    },
  ],
};

export const MULTI_SEGMENT: Bitstream = {
  header: {
    width: 1280,
    height: 720,
    fpsNum: 30000,
    fpsDen: 1001,
    frameCount: 360,
    durationMs: 12012,
    engineId: 'cmvc-modal',
    engineVersion: '2025.11.1',
    models: {
      interpolation: 'rife-lora@7c1e2d0',
      it2v: 'ltx-video-i2v@0.9.7',
      mllm: 'qwen2.5-vl-7b-instruct@cc59489',
      t2v: 'ltx-video@0.9.7',
    },
    seed: 42,
  },
  segments: [
    {
      startFrame: 0,
      frameCount: 120,
      contentText: 'A white ceramic cup sits on a wooden table next to a laptop, soft daylight from a window on the left, shallow depth of field.',
      motionText: 'The camera slowly pushes in towards the cup while steam rises gently; nothing else moves.',
      keyframes: [{ codec: 'png', width: 8, height: 6, data: tinyPng(), frameIndex: 0, priority: 255 }],
    },
    {
      startFrame: 120,
      frameCount: 150,
      contentText: 'A woman with curly hair speaks to the camera in a home office, bookshelves behind her, a ring light reflected in her glasses.',
      motionText: 'the camera is static; moderate object motion',
      keyframes: [{ codec: 'webp', width: 1, height: 1, data: WEBP_1X1, frameIndex: 0, priority: 255 }],
      seed: 7,
    },
    {
      startFrame: 270,
      frameCount: 90,
      contentText: 'a scene 1280x720, mostly pale blue and white; top: light blue sky; centre: white building; bottom: grey road; brightness high, contrast medium, dominant hues blue and yellow',
      motionText: 'the camera tilts up about 4% of the height per second',
      keyframes: [],
    },
  ],
};

/**
 * v1.1: several keyframes per segment, each with its frame index and priority. Segment 0's anchor (KFRM)
 * is frame 0 (priority 200); segment 1's is frame 10 (255), so its frame-0-less start is still valid.
 */
export const MULTI_KEYFRAME: Bitstream = {
  header: { ...MULTI_SEGMENT.header, frameCount: 270, durationMs: 9009 },
  segments: [
    {
      ...MULTI_SEGMENT.segments[0]!,
      keyframes: [
        { codec: 'png', width: 8, height: 6, data: tinyPng(), frameIndex: 0, priority: 200 },
        { codec: 'webp', width: 1, height: 1, data: WEBP_1X1, frameIndex: 40, priority: 90 },
        { codec: 'png', width: 4, height: 3, data: tinyPng(4, 3), frameIndex: 119, priority: 120 },
      ],
    },
    {
      ...MULTI_SEGMENT.segments[1]!,
      keyframes: [
        { codec: 'webp', width: 1, height: 1, data: WEBP_1X1, frameIndex: 10, priority: 255 },
        { codec: 'png', width: 8, height: 6, data: tinyPng(), frameIndex: 75, priority: 10 },
      ],
    },
  ],
};

/** The rate of the MULTI_KEYFRAME cut vector: it drops the two lowest-priority keyframes (priorities 10 and 90). */
export const MULTI_KEYFRAME_CUT_KBPS = 0.86;

/** Varint-length-prefixed packets (each under 128 bytes) → the packets. */
function packetsOf(base64: string): Uint8Array[] {
  const blob = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const out: Uint8Array[] = [];
  for (let at = 0; at < blob.length; at += 1 + blob[at]!) out.push(blob.slice(at + 1, at + 1 + blob[at]!));
  return out;
}

/**
 * Real Opus packets (libopus 1.5 through PyAV, 6 kbps, mono, 20 ms): 0.5 s of a 440 Hz tone, then 0.5 s of a
 * 660 Hz one, each coded alone with its pre-roll (`encode_segment` in gpu-functions/cmvc_gpu/media/audio.py).
 */
const TONE_440 = packetsOf(
  'DQiEVl7jwiBoNB6qTegXCK+YHYqYLl9vBcxG+B4vqLyogjQECxARCKfPSvr+4sjImTHDZ5Wmy7APCKfPSvr09G58L4uhaZkgEAinz0r6/uLJGXavcpkye8YSCKfpsBifeIevHJlz1CdfPsCQEgioYdtQbvANxB6msZORyOyIBhAIqYIK+vpnKIi24LBnlxjQDwipggr6/uLGHJSEznIyUBIIqYIK+vpnJ7LZbRWANdAIxqARCKl1IvsyoLHWy9YG2OigGdoSCKmCCQT6taV5GlPzKQkG+K7AEgipggr6/uLJO/rEhAzMqp4r6A8IqXUi+zKhAyowrZ2NkUAPCKmCCvr+4skZsbOHbqhoDgipdSL7MqEI9z4GeJWgEAipggr6/uLGJA5mge0IHQUQCKmCCvr+4sk7+rVVImn4pxAIqXUi+zKhJX9gL3GcCsc8EAipggr6/uLJO+hiqvu51XUSCKmCCvr6ZyCt0b99tL968l3AEQipdSL7MqEDKkn/56/3+l66Dwipggr6/uLJGbLR3xpIEBYIqhxlmvvUBQ7N5x6hDwp6tgP2mwHAFgirNMkE+rW5pAMv4CKWGROwzZV77dAbCLVz7LElq/YaprF+Vd4lQZO/cNVNwYM2YOVf',
);
const TONE_660 = packetsOf(
  'EAiFcbtGnPy4GwpKpkL78S4gCLcknpgIM6waZBXu3pY6h+wR8GxkmHVFErmE8hFRj5QQCKr003RQQMfOnFPPJUcHwAwIqXq43aTFHEl6FIkQCKl6uN2kxRxJjdX5OQxAwBAIqXq43aNxOhhEFfhSJaLADwiperjZjDAZhNdPNd9LkA8IqXq43aTFHEl6ZeRZ/aAOCKl6uN2kxRxJerbvduARCKl6uN2kxRxJecfA4gdkEDAPCKl6uN2kxRxzciNxbLtgEAiperjZjDAZhNgdf3koLioOCKl6uN2kxRxJjddNKEANCKl6uNmMjp2iyrX05QwIqXq43aTFIDi9Sc0MCKl6uN2kxRxJemW4FgiperjdpAXHSG/PzOlLyivC16LL54AOCKl6uN2kxRxJer9IwCANCKl6uNmMjp2iyrRqgAwIqXq43aTFHEl6tugNCKl6uN2kxRxJecYXQAwIqXq43aQFx0hvuvwQCKlCE3RQQMbiEVSvRnvqiBAIqBsjFpq6ZziiImS3GZKAEAiperjdpAWjOyEfoe+ErJsRCKoTcShaq10SqHbpbQPukGAQCAZwc5AocsXDhFNoyDDMgA==',
);

/** v1.2: two half-second segments at 24 fps, each with its sound (audo); the first also with a keyframe. */
export const WITH_AUDIO: Bitstream = {
  header: { ...ONE_SEGMENT.header, frameCount: 24, durationMs: 1000 },
  segments: [
    {
      startFrame: 0,
      frameCount: 12,
      contentText: 'a tuning fork on a table',
      motionText: 'the camera is static',
      keyframes: [{ codec: 'png', width: 8, height: 6, data: tinyPng(), frameIndex: 0, priority: 255 }],
      audio: { codec: 'opus', channels: 1, sampleRate: 48_000, preSkip: 312, sampleCount: 24_000, packets: TONE_440 },
    },
    {
      startFrame: 12,
      frameCount: 12,
      contentText: 'a tuning fork on a table',
      motionText: 'the camera is static',
      keyframes: [],
      audio: { codec: 'opus', channels: 1, sampleRate: 48_000, preSkip: 1272, sampleCount: 24_000, packets: TONE_660 },
    },
  ],
};

/** The rate of the WITH_AUDIO cut vector: its keyframe goes, its audio stays. */
export const WITH_AUDIO_CUT_KBPS = 11;

/**
 * Golden vectors written by an earlier version and never rebuilt: readers must keep reading them unchanged
 * (v1.0 streams with a keyframe; the v1.1 writer writes the same content with kpos chunks).
 */
export const FROZEN_VECTORS = { 'multi-segment': MULTI_SEGMENT } as const;

/** name → bytes of every golden vector this writer rebuilds. */
export function buildVectors(): Record<string, Uint8Array> {
  const multi = writeBitstream(MULTI_SEGMENT);
  const multiKeyframe = writeBitstream(MULTI_KEYFRAME);
  return {
    'one-segment': writeBitstream(ONE_SEGMENT),
    'multi-segment.tt2v-1-2': cutBitstream(multi, { profile: 'tt2v', segments: [1, 2] }),
    'multi-keyframe': multiKeyframe,
    'multi-keyframe.rate-cut': cutBitstream(multiKeyframe, { maxKbps: MULTI_KEYFRAME_CUT_KBPS }),
    audio: writeBitstream(WITH_AUDIO),
    'audio.rate-cut': cutBitstream(writeBitstream(WITH_AUDIO), { maxKbps: WITH_AUDIO_CUT_KBPS }),
  };
}

export function inspectJson(bytes: Uint8Array): string {
  return `${JSON.stringify(inspectBitstream(bytes), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [name, bytes] of Object.entries(buildVectors())) {
    writeFileSync(join(VECTORS_DIR, `${name}.cmvc`), bytes);
    writeFileSync(join(VECTORS_DIR, `${name}.inspect.json`), inspectJson(bytes));
    console.log(`${name}.cmvc  ${bytes.length} bytes`);
  }
  for (const name of Object.keys(FROZEN_VECTORS)) {
    // the bytes stay as written; only their inspect report is refreshed
    writeFileSync(join(VECTORS_DIR, `${name}.inspect.json`), inspectJson(new Uint8Array(readFileSync(join(VECTORS_DIR, `${name}.cmvc`)))));
  }
}
