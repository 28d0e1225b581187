/** Bitstream v1.2: a segment's sound in its own ancillary chunk (audo), its reader rules, limits and cuts. */
import { describe, expect, it } from 'vitest';
import {
  audioSampleAt,
  BitstreamError,
  crc32,
  cutBitstream,
  cutBitstreamWithPlan,
  inspectBitstream,
  opusPacketSamples,
  readBitstream,
  readIndex,
  readSegment,
  walkChunks,
  writeBitstream,
  type Bitstream,
} from '../../src/bitstream';
import { codeOf } from './support/bitstream-errors';
import { WITH_AUDIO } from '../../scripts/make-vectors';

/** The bytes with the `nth` chunk of `type` given `data` (its length and CRC rewritten, SIDX offsets left as they were). */
function replaceChunk(bytes: Uint8Array, type: string, nth: number, data: Uint8Array, newType = type): Uint8Array {
  const c = walkChunks(bytes).chunks.filter((x) => x.type === type)[nth]!;
  const t = new TextEncoder().encode(newType);
  const chunk = new Uint8Array(12 + data.length);
  const v = new DataView(chunk.buffer);
  v.setUint32(0, data.length);
  chunk.set(t, 4);
  chunk.set(data, 8);
  v.setUint32(8 + data.length, crc32(data, crc32(t)));
  const out = new Uint8Array(bytes.length - (c.length + 12) + chunk.length);
  out.set(bytes.subarray(0, c.offset));
  out.set(chunk, c.offset);
  out.set(bytes.subarray(c.offset + 12 + c.length), c.offset + chunk.length);
  return out;
}


const withSegments = (segments: Bitstream['segments']): Bitstream => ({ ...WITH_AUDIO, segments });
const audioOf = (n: number) => WITH_AUDIO.segments[n]!.audio!;

describe('v1.2 audio (audo)', () => {
  const bytes = writeBitstream(WITH_AUDIO);

  it('writes one audo chunk last in each segment, as minor 2, and reads it back', () => {
    expect(walkChunks(bytes).chunks.map((c) => c.type)).toEqual(['HEAD', 'SIDX', 'SEGP', 'CTXT', 'MTXT', 'KFRM', 'kpos', 'audo', 'SEGP', 'CTXT', 'MTXT', 'audo', 'CEND']);
    expect(bytes[9]).toBe(2);
    expect(readBitstream(bytes)).toEqual(WITH_AUDIO);
  });

  it('a segment read alone by its byte range carries its sound', () => {
    const index = readIndex(bytes);
    for (const n of [0, 1]) {
      const e = index.segments[n]!;
      expect(readSegment(index, n, bytes.subarray(e.offset, e.offset + e.length)).audio).toEqual(audioOf(n));
    }
  });

  it('a reader that does not know audo (v1.0, v1.1) skips it as an unknown ancillary chunk and reads the same video', () => {
    // Renamed to a type no reader knows, the chunk is what an older reader meets: skipped after its CRC check.
    let older = bytes;
    for (let n = 0; n < 2; n++) older = replaceChunk(older, 'audo', 0, walkChunks(older).chunks.find((c) => c.type === 'audo')!.data, 'audx');
    const read = readBitstream(older);
    expect(read.segments.map((s) => s.audio)).toEqual([undefined, undefined]);
    expect(read).toEqual({ ...WITH_AUDIO, segments: WITH_AUDIO.segments.map(({ audio: _a, ...s }) => s) });
  });

  it('reads the Opus packet durations from their TOC bytes (RFC 6716, 3.1)', () => {
    expect(opusPacketSamples(Uint8Array.of(0x00))).toBe(480); // config 0: SILK NB 10 ms, one frame
    expect(opusPacketSamples(Uint8Array.of(0x08))).toBe(960); // config 1: SILK NB 20 ms
    expect(opusPacketSamples(Uint8Array.of(0xf8))).toBe(960); // CELT FB 20 ms
    expect(opusPacketSamples(Uint8Array.of(0xf9))).toBe(1920); // code 1: two frames
    expect(opusPacketSamples(Uint8Array.of(0x1b, 0x02))).toBe(2 * 2880); // SILK 60 ms, code 3, two frames: 120 ms
    expect(typeof opusPacketSamples(Uint8Array.of(0x1b, 0x00))).toBe('string');
    expect(typeof opusPacketSamples(Uint8Array.of(0xfb))).toBe('string');
    expect(typeof opusPacketSamples(Uint8Array.of(0x1b, 0x03))).toBe('string'); // 3 × 60 ms > 120 ms
  });

  it('a segment\'s sample count is its frames at 48 kHz, exact for NTSC rates', () => {
    const ntsc = { fpsNum: 30000, fpsDen: 1001 };
    expect(audioSampleAt(30000, ntsc, 48_000)).toBe(48_048_000);
    expect(audioSampleAt(1, ntsc, 48_000)).toBe(1601); // 1601.6 floored
    expect(audioSampleAt(0xffff_ffff, ntsc, 48_000)).toBe(Number((0xffff_ffffn * 48_000n * 1001n) / 30000n));
  });

  it.each([
    ['an unknown codec', (d: Uint8Array) => (d[0] = 2)],
    ['three channels', (d: Uint8Array) => (d[1] = 3)],
    ['a sample rate other than 48 kHz', (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).setUint32(2, 44_100)],
    ['a sample count off by one', (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).setUint32(10, 23_999)],
    ['a pre-skip the packets cannot cover', (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).setUint32(6, 5000)],
    ['an empty packet', (d: Uint8Array) => (d[14] = 0)],
  ])('%s is malformed_chunk at audo', (_name, edit) => {
    const data = walkChunks(bytes).chunks.find((c) => c.type === 'audo')!.data.slice();
    edit(data);
    expect(codeOf(() => readBitstream(replaceChunk(bytes, 'audo', 0, data)))).toBe('malformed_chunk:audo');
  });

  it('a packet after those that already give every sample needed is malformed (one spelling per sound)', () => {
    const a = audioOf(0);
    const extra = withSegments([{ ...WITH_AUDIO.segments[0]!, audio: { ...a, packets: [...a.packets, a.packets.at(-1)!] } }, WITH_AUDIO.segments[1]!]);
    expect(() => writeBitstream(extra)).toThrow(/follows packets that already give/);
    const data = walkChunks(bytes).chunks.find((c) => c.type === 'audo')!.data;
    const last = a.packets.at(-1)!;
    const longer = new Uint8Array(data.length + 1 + last.length);
    longer.set(data);
    longer[data.length] = last.length;
    longer.set(last, data.length + 1);
    expect(codeOf(() => readBitstream(replaceChunk(bytes, 'audo', 0, longer)))).toBe('malformed_chunk:audo');
  });

  it('every audo of a stream has one codec, channel count and rate', () => {
    const data = walkChunks(bytes).chunks.filter((c) => c.type === 'audo')[1]!.data.slice();
    data[1] = 2; // stereo, after a mono segment
    expect(codeOf(() => readBitstream(replaceChunk(bytes, 'audo', 1, data)))).toBe('malformed_chunk:audo');
    const stereo = withSegments([WITH_AUDIO.segments[0]!, { ...WITH_AUDIO.segments[1]!, audio: { ...audioOf(1), channels: 2 } }]);
    expect(() => writeBitstream(stereo)).toThrow(/unlike the stream's/);
  });

  it('audo is last in its segment and at most once', () => {
    const chunks = walkChunks(bytes).chunks;
    const audo = chunks.find((c) => c.type === 'audo')!;
    const kpos = chunks.find((c) => c.type === 'kpos')!;
    // swap kpos and audo: audo before kpos is out of place
    const swapped = new Uint8Array(bytes.length);
    swapped.set(bytes.subarray(0, kpos.offset));
    const audoBytes = bytes.subarray(audo.offset, audo.offset + audo.length + 12);
    const kposBytes = bytes.subarray(kpos.offset, kpos.offset + kpos.length + 12);
    swapped.set(audoBytes, kpos.offset);
    swapped.set(kposBytes, kpos.offset + audoBytes.length);
    swapped.set(bytes.subarray(audo.offset + audo.length + 12), kpos.offset + audoBytes.length + kposBytes.length);
    expect(codeOf(() => readBitstream(swapped))).toBe('malformed_chunk:kpos');
  });

  it('limits: maxAudioBytes and maxAudioPacketBytes pass at the limit and fail one under it', () => {
    const packets = audioOf(0).packets;
    const packetBytes = packets.reduce((n, p) => n + 1 + p.length, 0);
    const largest = Math.max(...packets.map((p) => p.length), ...audioOf(1).packets.map((p) => p.length));
    const secondBytes = audioOf(1).packets.reduce((n, p) => n + 1 + p.length, 0);
    const most = Math.max(packetBytes, secondBytes);
    expect(readBitstream(bytes, { maxAudioBytes: most })).toEqual(WITH_AUDIO);
    expect(codeOf(() => readBitstream(bytes, { maxAudioBytes: most - 1 }))).toBe('limit_exceeded:audo');
    expect(readBitstream(bytes, { maxAudioPacketBytes: largest })).toEqual(WITH_AUDIO);
    expect(codeOf(() => readBitstream(bytes, { maxAudioPacketBytes: largest - 1 }))).toBe('limit_exceeded:audo');
    expect(() => writeBitstream(WITH_AUDIO, { maxAudioPacketBytes: largest - 1 })).toThrow(BitstreamError);
    // the reader reports every audio buffer before it makes it
    const seen: string[] = [];
    readBitstream(bytes, { onAllocate: (_n, kind) => seen.push(kind) });
    expect(seen.filter((k) => k === 'audio')).toHaveLength(2);
  });

  it('the writer refuses sound the format cannot carry', () => {
    const bad = (audio: object) => () => writeBitstream(withSegments([{ ...WITH_AUDIO.segments[0]!, audio: { ...audioOf(0), ...audio } }, WITH_AUDIO.segments[1]!]));
    expect(bad({ sampleCount: 24_001 })).toThrow(/sampleCount must be the segment's 24000 samples/);
    expect(bad({ sampleRate: 44_100 })).toThrow(/sampleRate/);
    expect(bad({ packets: [] })).toThrow(/non-empty/);
    expect(bad({ preSkip: 100_000 })).toThrow(/fewer than preSkip/);
  });

  it('cuts: segments and the tt2v profile keep the sound; audio: false drops it and the version falls back', () => {
    const second = readBitstream(cutBitstream(bytes, { segments: [1, 1] }));
    expect(second.segments[0]!.audio).toEqual(audioOf(1));
    expect(readBitstream(cutBitstream(bytes, { profile: 'tt2v' })).segments.map((s) => s.audio)).toEqual([audioOf(0), audioOf(1)]);
    const silent = cutBitstream(bytes, { audio: false });
    expect(silent[9]).toBe(1); // keyframe positions left: v1.1
    expect(readBitstream(silent).segments.map((s) => s.audio)).toEqual([undefined, undefined]);
  });

  it('maxKbps drops keyframes first; when none would fit beside the sound, the sound, keeping the keyframes that then fit', () => {
    const keyframeGone = cutBitstreamWithPlan(bytes, { maxKbps: 11 });
    expect(keyframeGone.rate).toMatchObject({ dropped: 1, audioDropped: false });
    expect(readBitstream(keyframeGone.bytes).segments.map((s) => [s.keyframes.length, s.audio !== undefined])).toEqual([[0, true], [0, true]]);
    // 5 kbps: even the texts alone do not fit beside the sound, so it goes — and the keyframe, which fits without it, stays
    const audioGone = cutBitstreamWithPlan(bytes, { maxKbps: 5 });
    expect(audioGone.rate).toMatchObject({ dropped: 0, audioDropped: true });
    expect(audioGone.bytes.length).toBe(audioGone.rate!.bytes);
    expect(readBitstream(audioGone.bytes).segments.map((s) => [s.keyframes.length, s.audio !== undefined])).toEqual([[1, false], [0, false]]);
    expect(audioGone.rate!.kbps).toBeLessThanOrEqual(5);
    // just above the texts-only floor: the sound and the keyframe both go
    const floor = audioGone.rate!.floorKbps;
    const textsOnly = cutBitstreamWithPlan(bytes, { maxKbps: floor * 1.01 });
    expect(textsOnly.rate).toMatchObject({ dropped: 1, audioDropped: true });
    expect(readBitstream(textsOnly.bytes).segments.map((s) => [s.keyframes.length, s.audio !== undefined])).toEqual([[0, false], [0, false]]);
    // at the full rate nothing goes
    expect(cutBitstreamWithPlan(bytes, { maxKbps: 13 }).rate).toMatchObject({ dropped: 0, audioDropped: false });
  });

  it('inspect reports the total rate, the video\'s rate and the audio apart', () => {
    const r = inspectBitstream(bytes);
    const audioBytes = walkChunks(bytes).chunks.filter((c) => c.type === 'audo').reduce((n, c) => n + c.length + 12, 0);
    expect(r.audio).toEqual({ codec: 'opus', kbps: Math.round(audioBytes * 8) / 1000, bytes: audioBytes, channels: 1, sampleRate: 48_000 });
    expect(r.kbps).toBe(Math.round(bytes.length * 8) / 1000);
    expect(r.videoKbps).toBe(Math.round((bytes.length - audioBytes) * 8) / 1000);
    expect(r.segments[0]!.audio).toMatchObject({ codec: 'opus', packets: audioOf(0).packets.length, preSkip: 312, sampleCount: 24_000 });
    expect(inspectBitstream(cutBitstream(bytes, { audio: false })).audio).toBeNull();
  });
});
