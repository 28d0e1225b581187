/**
 * The client decoder (src/client/decode/) against the reference engine: per-frame luma PSNR between its frames
 * and the frames the reference engine's generate renders for the requests the Worker sends for the same
 * bitstream — on the sample clip and on synthetic clips with a known pan and zoom, v1.1 and v1.0 streams,
 * whole and segment by segment — and its typed errors on bad input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assembleChunks,
  CHUNK_HEAD,
  CHUNK_KPOS,
  CURRENT_TEXT_DICTIONARY,
  cutBitstream,
  encodeHeader,
  LEGACY_KEYFRAME_PRIORITY,
  readBitstream,
  readIndex,
  readSegment,
  resolveLimits,
  segmentNodes,
  writeBitstream,
  type Bitstream,
} from '../../src/bitstream';
import { decodeImageNode } from '../../src/cli/decode-image';
import { warpPlan } from '../../src/client/decode/warp';
import { decodeBitstream, decodeSegment, DecodeError, lumaPsnr, parseForDecode, pixelsOf, rowsOf, type RgbImage } from '../../src/client/decode';
import { referenceBitstream, referenceFrames, SAMPLE_CLIP } from './support/reference-it2v';

const TIMEOUT = 180_000;

async function clientFrames(bitstream: Bitstream, mode?: 'it2v' | 'tt2v'): Promise<RgbImage[]> {
  const frames: RgbImage[] = [];
  for await (const segment of decodeBitstream(bitstream, { decodeImage: decodeImageNode, mode })) frames.push(...segment.frames);
  return frames;
}

function agreement(client: RgbImage[], reference: RgbImage[]): { mean: number; min: number } {
  expect(client.length).toBe(reference.length);
  // identical frames count as 100 dB so that the mean stays finite
  const psnr = client.map((frame, i) => Math.min(100, lumaPsnr(frame, reference[i] as RgbImage)));
  return { mean: psnr.reduce((a, b) => a + b, 0) / psnr.length, min: Math.min(...psnr) };
}

async function expectAgreement(bytes: Uint8Array): Promise<Bitstream> {
  const bitstream = readBitstream(bytes);
  const { mean, min } = agreement(await clientFrames(bitstream), await referenceFrames(bitstream, 'it2v'));
  expect(mean).toBeGreaterThanOrEqual(35);
  expect(min).toBeGreaterThanOrEqual(30);
  return bitstream;
}

describe('client IT2V decode agrees with the reference engine', () => {
  it('on the sample clip, one keyframe per segment', { timeout: TIMEOUT }, async () => {
    const bitstream = await expectAgreement(referenceBitstream(SAMPLE_CLIP));
    expect(bitstream.segments.every((s) => s.keyframes.length === 1)).toBe(true);
  });

  it('on the sample clip at 30 kbps, many keyframes (in-betweening and extrapolation)', { timeout: TIMEOUT }, async () => {
    const bitstream = await expectAgreement(referenceBitstream(SAMPLE_CLIP, 30));
    expect(bitstream.segments.reduce((n, s) => n + s.keyframes.length, 0)).toBeGreaterThan(2);
  });

  it.each(['pan:2.5', 'zoom:0.01'])('on a synthetic clip with known motion (%s) at 40 kbps', { timeout: TIMEOUT }, async (clip) => {
    const bitstream = await expectAgreement(referenceBitstream(clip, 40));
    expect(bitstream.segments[0]?.motionText).toMatch(clip.startsWith('pan') ? /pans right/ : /zooms in/);
  });

  it('on a v1.0 stream (keyframe placed by the motion text clause, no kpos chunk)', { timeout: TIMEOUT }, async () => {
    const v11 = readBitstream(referenceBitstream(SAMPLE_CLIP));
    const fps = v11.header.fpsNum / v11.header.fpsDen;
    const legacy: Bitstream = {
      header: v11.header,
      segments: v11.segments.map((s) => ({
        ...s,
        motionText: `${s.motionText}; keyframe at ${((s.keyframes[0]?.frameIndex ?? 0) / fps).toFixed(2)} s`,
        keyframes: s.keyframes.slice(0, 1).map((k) => ({ ...k, frameIndex: 0, priority: LEGACY_KEYFRAME_PRIORITY })),
      })),
    };
    const head = { type: CHUNK_HEAD, data: encodeHeader(legacy.header, CURRENT_TEXT_DICTIONARY) };
    const nodes = legacy.segments.map((s) => segmentNodes(s, CURRENT_TEXT_DICTIONARY)).map((n) => ({ ...n, chunks: n.chunks.filter((c) => c.type !== CHUNK_KPOS) }));
    const bytes = assembleChunks(head, nodes, resolveLimits({}));
    expect(bytes[9]).toBe(0); // minor version 0 (after the 8-byte signature and the major version)
    const decoded = await expectAgreement(bytes);
    expect(decoded.segments[0]?.keyframes[0]?.frameIndex).toBe(v11.segments[0]?.keyframes[0]?.frameIndex);
  });
});

describe('client decode, segment by segment and texts only', () => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = referenceBitstream('pan:2.5', 40);
  }, TIMEOUT);

  it('gives the same frames from the index and one segment at a time (Range reads) as from the whole stream', { timeout: TIMEOUT }, async () => {
    const whole = await clientFrames(readBitstream(bytes));
    const index = readIndex(bytes.subarray(0, 200));
    const pieces: RgbImage[] = [];
    for (const [n, entry] of index.segments.entries()) {
      const segment = readSegment(index, n, bytes.subarray(entry.offset, entry.offset + entry.length));
      pieces.push(...(await decodeSegment(index.header, segment, n, { decodeImage: decodeImageNode })).frames);
    }
    expect(pieces.length).toBe(whole.length);
    for (const [i, frame] of pieces.entries()) expect(Buffer.compare(frame.data, (whole[i] as RgbImage).data)).toBe(0);
  });

  it('computes any frame in row parts (as the player\'s frame workers do) byte for byte as the whole frame', { timeout: TIMEOUT }, async () => {
    const index = readIndex(bytes.subarray(0, 200));
    const kinds = new Set<string>();
    for (const [n, entry] of index.segments.entries()) {
      const decoded = await decodeSegment(index.header, readSegment(index, n, bytes.subarray(entry.offset, entry.offset + entry.length)), n, { decodeImage: decodeImageNode });
      for (let i = 0; i < decoded.frameCount; i++) {
        const recipe = decoded.recipeAt(i);
        kinds.add(recipe.kind);
        const whole = pixelsOf(recipe);
        const stride = whole.width * 3;
        const parts = new Uint8Array(whole.data.length);
        // uneven parts, the last one short, as `FrameWorkers` cuts a frame whose height its share count does not divide
        for (const [from, to] of [[0, 7], [7, 100], [100, whole.height]] as const) rowsOf(recipe, { from, to }, parts.subarray(from * stride, to * stride));
        expect(Buffer.compare(parts, whole.data)).toBe(0);
      }
    }
    expect([...kinds].sort()).toEqual(['blend', 'still']);
    // this stream's keyframes open and close each segment, so it has no extrapolated frame: a camera move of one
    const still = (await decodeSegment(index.header, readSegment(index, 0, bytes.subarray(index.segments[0]!.offset, index.segments[0]!.offset + index.segments[0]!.length)), 0, { decodeImage: decodeImageNode })).frameAt(0);
    const moved = { kind: 'warp' as const, image: still, plan: warpPlan(still.width, still.height, 3.3, -1.7, 1.04) };
    const whole = pixelsOf(moved);
    const stride = whole.width * 3;
    const parts = new Uint8Array(whole.data.length);
    for (const [from, to] of [[0, 50], [50, whole.height]] as const) rowsOf(moved, { from, to }, parts.subarray(from * stride, to * stride));
    expect(Buffer.compare(parts, whole.data)).toBe(0);
  });

  it('decodes a texts-only (tt2v profile) stream as the reference TT2V: same colour layout and motion', { timeout: TIMEOUT }, async () => {
    const textsOnly = readBitstream(cutBitstream(bytes, { profile: 'tt2v' }));
    expect(textsOnly.segments.every((s) => s.keyframes.length === 0)).toBe(true);
    const client = await clientFrames(textsOnly);
    const { mean, min } = agreement(client, await referenceFrames(textsOnly, 'tt2v'));
    // the seeded texture is drawn by the same generator on both sides (seeded_normals / normals)
    expect(mean).toBeGreaterThanOrEqual(35);
    expect(min).toBeGreaterThanOrEqual(30);
  });
});

describe('client decode, bad input is a typed error', () => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = referenceBitstream(SAMPLE_CLIP);
  }, TIMEOUT);

  it('a bitstream that does not parse is bad_bitstream', () => {
    expect(() => parseForDecode(bytes.subarray(0, bytes.length - 3))).toThrow(expect.objectContaining({ name: 'DecodeError', code: 'bad_bitstream' }));
    expect(() => parseForDecode(new TextEncoder().encode('not a bitstream'))).toThrow(DecodeError);
  });

  it('a keyframe that does not decode is bad_keyframe, before any frame is drawn', async () => {
    const b = readBitstream(bytes);
    const broken: Bitstream = { ...b, segments: b.segments.map((s) => ({ ...s, keyframes: s.keyframes.map((k) => ({ ...k, data: k.data.map((v, i) => (i < 12 ? v : v ^ 0x5a)) })) })) };
    const decoded = parseForDecode(writeBitstream(broken));
    await expect(decodeSegment(decoded.header, decoded.segments[0]!, 0, { decodeImage: decodeImageNode })).rejects.toMatchObject({ code: 'bad_keyframe', where: { segment: 0, keyframe: 0 } });
  });

  it('a motion text outside the grammar is bad_motion_text; lenient mode reads it as the reference engine does', async () => {
    const b = readBitstream(bytes);
    const prose = { ...b.segments[0]!, motionText: 'The camera slowly pushes in towards the cup; nothing else moves.' };
    await expect(decodeSegment(b.header, prose, 0, { decodeImage: decodeImageNode })).rejects.toMatchObject({ code: 'bad_motion_text', where: { segment: 0 } });
    const lenient = await decodeSegment(b.header, prose, 0, { decodeImage: decodeImageNode, strictMotion: false });
    expect([...lenient.frames].length).toBe(lenient.frameCount);
  });
});
