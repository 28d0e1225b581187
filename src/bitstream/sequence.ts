/**
 * The chunk grammar of docs/bitstream.md as a state machine, fed one chunk at a time by the framer
 * (stream.ts). It checks each chunk's type and declared length before its data is buffered (`declare`),
 * decodes it after its CRC is checked (`accept`), and checks the layout against SIDX as it goes.
 */
import { decodeAudio, sameAudioFormat, type AudioFormat } from './audio';
import {
  AUDO_FIXED_BYTES,
  CHUNK_AUDO,
  CHUNK_CEND,
  CHUNK_CTXT,
  CHUNK_HEAD,
  CHUNK_KFRM,
  CHUNK_KFRX,
  CHUNK_KPOS,
  CHUNK_MTXT,
  CHUNK_OVERHEAD_BYTES,
  CHUNK_SEGP,
  CHUNK_SIDX,
  isCritical,
  KFRM_FIXED_BYTES,
  KFRX_FIXED_BYTES,
  KNOWN_CHUNKS,
  KPOS_BYTES,
  LEGACY_KEYFRAME_PRIORITY,
  SEGP_MIN_BYTES,
} from './chunks';
import {
  decodeExtraKeyframe,
  decodeHeader,
  decodeIndex,
  decodeKeyframe,
  decodeKeyframePosition,
  decodeSegmentParams,
  HEAD_MAX_BYTES,
  sidxBytes,
  type KeyframeImage,
  type KeyframePosition,
} from './codec';
import { BitstreamError, invariant } from './errors';
import type { ChunkSink } from './framer';
import { legacyFrameIndex } from './keyframes';
import { checkLimit, type BitstreamLimits, type ReadOptions } from './limits';
import { decodeText } from './text-codec';
import type { Bitstream, BitstreamHeader, BitstreamIndex, Keyframe, SegmentAudio, SegmentData, SegmentIndexEntry } from './types';

/** What the sequence reads: a whole file, a file's prefix up to SIDX, or one segment's byte range. */
export type SequenceMode = { kind: 'file' } | { kind: 'index' } | { kind: 'segment'; index: BitstreamIndex; n: number };

type State = 'head' | 'sidx' | 'segp' | 'ctxt' | 'mtxt' | 'after-mtxt' | 'after-kfrm' | 'after-kpos' | 'after-kfrx' | 'after-audo' | 'done';

const EXPECTED: Record<State, string> = {
  head: 'HEAD',
  sidx: 'SIDX',
  segp: 'SEGP',
  ctxt: 'CTXT',
  mtxt: 'MTXT',
  'after-mtxt': 'KFRM, audo, SEGP or CEND',
  'after-kfrm': 'kpos, audo, SEGP or CEND',
  'after-kpos': 'kfrx, audo, SEGP or CEND',
  'after-kfrx': 'kfrx, audo, SEGP or CEND',
  'after-audo': 'SEGP or CEND',
  done: 'nothing',
};

/** States in which a segment may end (the next SEGP, CEND, or the end of a segment's byte range). */
const SEGMENT_MAY_END: ReadonlySet<State> = new Set(['after-mtxt', 'after-kfrm', 'after-kpos', 'after-kfrx', 'after-audo']);

interface PartialSegment {
  startFrame: number;
  frameCount: number;
  seed?: number;
  contentText?: string;
  motionText?: string;
  /** KFRM's image, and its kpos (absent in a v1.0 stream). */
  anchor?: KeyframeImage;
  anchorPosition?: KeyframePosition;
  /** kfrx keyframes, in stream order. */
  extras: Keyframe[];
  /** The audo chunk's sound (v1.2). */
  audio?: SegmentAudio;
}

/** The chunk grammar the strict walker feeds: what may follow what, and each chunk's fields decoded. */
export class ChunkSequence implements ChunkSink {
  private state: State;
  private header: BitstreamHeader | undefined;
  private textDictionary = 0;
  private entries: SegmentIndexEntry[] | undefined;
  private endOffset = 0;
  private indexEnd = 0;
  /** Index (in `entries`) of the segment being read. */
  private n = -1;
  private current: PartialSegment | undefined;
  /** The codec, channels and rate of the stream's first audo chunk: every other one must match. */
  private audioFormat: AudioFormat | undefined;
  /** Unknown ancillary chunks walked past so far. */
  private unknownChunks = 0;
  readonly segments: SegmentData[] = [];
  /** Set once SIDX is read (index mode stops there). */
  index: BitstreamIndex | undefined;

  constructor(
    private readonly mode: SequenceMode,
    private readonly limits: BitstreamLimits,
    private readonly options: ReadOptions,
  ) {
    if (mode.kind === 'segment') {
      this.state = 'segp';
      this.header = mode.index.header;
      this.textDictionary = mode.index.textDictionary;
      this.entries = mode.index.segments;
      this.n = mode.n - 1;
    } else {
      this.state = 'head';
    }
  }

  /** True when the mode's goal is reached and no more bytes are wanted. */
  get complete(): boolean {
    return this.state === 'done' || (this.mode.kind === 'index' && this.index !== undefined);
  }

  /** Checks a chunk's type and declared length before its data is read. */
  declare(type: string, length: number, offset: number): void {
    const where = { chunk: type, offset };
    if (!KNOWN_CHUNKS.has(type)) {
      if (isCritical(type)) {
        throw new BitstreamError('unknown_critical_chunk', `unknown critical chunk ${type}`, { ...where, details: { expected: EXPECTED[this.state] } });
      }
      if (this.state === 'head') throw new BitstreamError('malformed_chunk', `the first chunk must be HEAD, not the ancillary chunk ${type}`, where);
      if (this.state === 'done') throw new BitstreamError('malformed_chunk', `chunk ${type} after CEND`, where);
      checkLimit(++this.unknownChunks, this.limits.maxUnknownChunks, 'maxUnknownChunks', where);
      return; // unknown ancillary: skipped (its data still passes the CRC check)
    }
    if (!this.allowed(type)) {
      throw new BitstreamError('malformed_chunk', `unexpected chunk ${type}; expected ${EXPECTED[this.state]}`, { ...where, details: { expected: EXPECTED[this.state], got: type } });
    }
    const badLength = (expected: string): never => {
      throw new BitstreamError('malformed_chunk', `${type} data is ${length} bytes; expected ${expected}`, { ...where, details: { expected, got: length } });
    };
    switch (type) {
      case CHUNK_HEAD:
        if (length > HEAD_MAX_BYTES) badLength(`at most ${HEAD_MAX_BYTES}`);
        break;
      case CHUNK_SIDX:
        checkLimit(length, sidxBytes(this.limits.maxSegments), 'maxSegments (SIDX length)', where);
        break;
      case CHUNK_SEGP:
        if (length !== SEGP_MIN_BYTES && length !== SEGP_MIN_BYTES + 4) badLength(`${SEGP_MIN_BYTES} or ${SEGP_MIN_BYTES + 4}`);
        break;
      case CHUNK_CTXT:
      case CHUNK_MTXT:
        // tag + varint (≤ 4 bytes) + payload (≤ maxTextBytes)
        checkLimit(length, 5 + this.limits.maxTextBytes, 'maxTextBytes (chunk length)', where);
        break;
      case CHUNK_KFRM:
        checkLimit(length, KFRM_FIXED_BYTES + this.limits.maxKeyframeBytes, 'maxKeyframeBytes (chunk length)', where);
        break;
      case CHUNK_KPOS:
        if (length !== KPOS_BYTES) badLength(String(KPOS_BYTES));
        break;
      case CHUNK_KFRX:
        checkLimit(length, KFRX_FIXED_BYTES + this.limits.maxKeyframeBytes, 'maxKeyframeBytes (chunk length)', where);
        checkLimit(2 + (this.current?.extras.length ?? 0), this.limits.maxKeyframesPerSegment, 'maxKeyframesPerSegment', where);
        break;
      case CHUNK_AUDO:
        if (length < AUDO_FIXED_BYTES + 2) badLength(`at least ${AUDO_FIXED_BYTES + 2}`);
        checkLimit(length, AUDO_FIXED_BYTES + this.limits.maxAudioBytes, 'maxAudioBytes (chunk length)', where);
        break;
      case CHUNK_CEND:
        if (length !== 0) badLength('0');
        break;
    }
  }

  private allowed(type: string): boolean {
    const last = this.entries !== undefined && this.n + 1 >= this.entries.length;
    switch (this.state) {
      case 'head':
        return type === CHUNK_HEAD;
      case 'sidx':
        return type === CHUNK_SIDX;
      case 'segp':
        return type === CHUNK_SEGP;
      case 'ctxt':
        return type === CHUNK_CTXT;
      case 'mtxt':
        return type === CHUNK_MTXT;
      case 'after-mtxt':
      case 'after-kfrm':
      case 'after-kpos':
      case 'after-kfrx':
      case 'after-audo':
        if (type === CHUNK_AUDO) return this.state !== 'after-audo';
        if (this.state === 'after-audo' && type !== CHUNK_SEGP && type !== CHUNK_CEND) return false;
        if (type === CHUNK_KFRM) return this.state === 'after-mtxt';
        if (type === CHUNK_KPOS) return this.state === 'after-kfrm';
        if (type === CHUNK_KFRX) return this.state === 'after-kpos' || this.state === 'after-kfrx';
        // the next segment or the end; a segment range (readSegment) has neither
        if (this.mode.kind === 'segment') return false;
        return last ? type === CHUNK_CEND : type === CHUNK_SEGP;
      case 'done':
        return false;
    }
  }

  /** Decodes a chunk whose CRC is correct. Unknown ancillary chunks are ignored. */
  accept(type: string, data: Uint8Array, offset: number): void {
    if (!KNOWN_CHUNKS.has(type)) return;
    const dataAt = offset + 8;
    switch (type) {
      case CHUNK_HEAD: {
        const decoded = decodeHeader(data, dataAt);
        this.header = decoded.header;
        this.textDictionary = decoded.textDictionary;
        this.state = 'sidx';
        return;
      }
      case CHUNK_SIDX: {
        invariant(this.header !== undefined, 'SIDX before HEAD');
        this.indexEnd = offset + CHUNK_OVERHEAD_BYTES + data.length;
        const decoded = decodeIndex(data, dataAt, this.indexEnd, this.header, this.limits);
        this.entries = decoded.segments;
        this.endOffset = decoded.endOffset;
        this.index = {
          header: this.header,
          segments: decoded.segments,
          indexEnd: this.indexEnd,
          totalBytes: decoded.endOffset + CHUNK_OVERHEAD_BYTES,
          textDictionary: this.textDictionary,
        };
        this.state = 'segp';
        return;
      }
      case CHUNK_SEGP: {
        this.closeSegment();
        invariant(this.entries !== undefined, 'SEGP before SIDX');
        this.n++;
        const entry = this.entries[this.n];
        invariant(entry !== undefined, 'SEGP beyond the index count passed declare()');
        if (offset !== entry.offset) {
          throw new BitstreamError('malformed_chunk', `segment ${this.n} starts at ${offset}, but SIDX says ${entry.offset}`, {
            chunk: type,
            offset,
            details: { expected: entry.offset, got: offset },
          });
        }
        const p = decodeSegmentParams(data, dataAt);
        if (p.startFrame !== entry.startFrame || p.frameCount !== entry.frameCount) {
          throw new BitstreamError('malformed_chunk', `segment ${this.n} covers frames ${p.startFrame}+${p.frameCount}, but SIDX says ${entry.startFrame}+${entry.frameCount}`, {
            chunk: type,
            offset: dataAt,
            details: { expected: [entry.startFrame, entry.frameCount], got: [p.startFrame, p.frameCount] },
          });
        }
        this.current = { ...p, extras: [] };
        this.state = 'ctxt';
        return;
      }
      case CHUNK_CTXT:
      case CHUNK_MTXT: {
        invariant(this.current !== undefined, `${type} outside a segment`);
        const text = decodeText(data, {
          chunk: type,
          offset: dataAt,
          dictionaryVersion: this.textDictionary,
          maxTextBytes: this.limits.maxTextBytes,
          onAllocate: this.options.onAllocate,
        });
        if (type === CHUNK_CTXT) {
          this.current.contentText = text;
          this.state = 'mtxt';
        } else {
          this.current.motionText = text;
          this.state = 'after-mtxt';
        }
        return;
      }
      case CHUNK_KFRM: {
        invariant(this.current !== undefined, 'KFRM outside a segment');
        this.current.anchor = decodeKeyframe(data, dataAt, { ...this.options, maxKeyframeBytes: this.limits.maxKeyframeBytes });
        this.state = 'after-kfrm';
        return;
      }
      case CHUNK_KPOS: {
        const c = this.current;
        invariant(c !== undefined, 'kpos outside a segment');
        const p = decodeKeyframePosition(data, dataAt);
        this.checkFrameIndex(p.frameIndex, c, type, dataAt);
        c.anchorPosition = p;
        this.state = 'after-kpos';
        return;
      }
      case CHUNK_KFRX: {
        const c = this.current;
        invariant(c !== undefined && c.anchorPosition !== undefined, 'kfrx before kpos passed declare()');
        const k = decodeExtraKeyframe(data, dataAt, { ...this.options, maxKeyframeBytes: this.limits.maxKeyframeBytes });
        this.checkFrameIndex(k.frameIndex, c, type, dataAt);
        const fail = (message: string, field: string, at: number, got: number): never => {
          throw new BitstreamError('malformed_chunk', message, { chunk: type, offset: at, details: { field, got } });
        };
        const previous = c.extras.at(-1);
        if (previous !== undefined && k.frameIndex <= previous.frameIndex) {
          fail(`kfrx frame index ${k.frameIndex} is not above the previous kfrx's ${previous.frameIndex} (out of order or duplicate)`, 'frameIndex', dataAt, k.frameIndex);
        }
        if (k.frameIndex === c.anchorPosition.frameIndex) fail(`kfrx frame index ${k.frameIndex} duplicates the KFRM's`, 'frameIndex', dataAt, k.frameIndex);
        // The KFRM is the keyframe kept longest: no kfrx outranks it, nor ties it at an earlier frame.
        const anchor = c.anchorPosition;
        if (k.priority > anchor.priority || (k.priority === anchor.priority && k.frameIndex < anchor.frameIndex)) {
          fail(`kfrx (frame ${k.frameIndex}, priority ${k.priority}) outranks its segment's KFRM (frame ${anchor.frameIndex}, priority ${anchor.priority})`, 'priority', dataAt + 4, k.priority);
        }
        c.extras.push(k);
        this.state = 'after-kfrx';
        return;
      }
      case CHUNK_AUDO: {
        const c = this.current;
        invariant(c !== undefined && this.header !== undefined, 'audo outside a segment');
        const audio = decodeAudio(data, dataAt, { segment: c, header: this.header, limits: this.limits, onAllocate: this.options.onAllocate });
        if (this.audioFormat !== undefined && !sameAudioFormat(audio, this.audioFormat)) {
          const f = this.audioFormat;
          throw new BitstreamError('malformed_chunk', `audo is ${audio.codec} ${audio.channels} ch ${audio.sampleRate} Hz, unlike the stream's first (${f.codec} ${f.channels} ch ${f.sampleRate} Hz)`, {
            chunk: type,
            offset: dataAt,
            details: { expected: f, got: { codec: audio.codec, channels: audio.channels, sampleRate: audio.sampleRate } },
          });
        }
        this.audioFormat ??= { codec: audio.codec, channels: audio.channels, sampleRate: audio.sampleRate };
        c.audio = audio;
        this.state = 'after-audo';
        return;
      }
      case CHUNK_CEND: {
        this.closeSegment();
        if (offset !== this.endOffset) {
          throw new BitstreamError('malformed_chunk', `CEND is at ${offset}, but SIDX says ${this.endOffset}`, { chunk: type, offset, details: { expected: this.endOffset, got: offset } });
        }
        this.state = 'done';
        return;
      }
    }
  }

  /** A keyframe's frame index lies inside its segment. */
  private checkFrameIndex(frameIndex: number, c: PartialSegment, chunk: string, at: number): void {
    if (frameIndex >= c.frameCount) {
      throw new BitstreamError('malformed_chunk', `${chunk} frame index ${frameIndex} is outside the segment's ${c.frameCount} frames`, {
        chunk,
        offset: at,
        details: { field: 'frameIndex', expected: `< ${c.frameCount}`, got: frameIndex },
      });
    }
  }

  private closeSegment(): void {
    const c = this.current;
    if (c === undefined) return;
    invariant(c.contentText !== undefined && c.motionText !== undefined && this.header !== undefined, 'segment closed before its texts');
    const keyframes: Keyframe[] = [...c.extras];
    if (c.anchor !== undefined) {
      const fps = this.header.fpsNum / this.header.fpsDen;
      const position = c.anchorPosition ?? { frameIndex: legacyFrameIndex(c.motionText, c.frameCount, fps), priority: LEGACY_KEYFRAME_PRIORITY };
      keyframes.push({ ...c.anchor, ...position });
      keyframes.sort((a, b) => a.frameIndex - b.frameIndex);
    }
    const segment: SegmentData = { startFrame: c.startFrame, frameCount: c.frameCount, contentText: c.contentText, motionText: c.motionText, keyframes };
    if (c.seed !== undefined) segment.seed = c.seed;
    if (c.audio !== undefined) segment.audio = c.audio;
    this.segments.push(segment);
    this.current = undefined;
  }

  /** The input ended at `endOffset` (absolute) on a chunk boundary. */
  finish(endOffset: number): void {
    if (this.mode.kind === 'segment') {
      if (!SEGMENT_MAY_END.has(this.state)) {
        throw new BitstreamError('truncated', `the segment's bytes end before its ${EXPECTED[this.state]} chunk`, { offset: endOffset, details: { expected: EXPECTED[this.state] } });
      }
      this.closeSegment();
      return;
    }
    if (this.state !== 'done') {
      throw new BitstreamError('truncated', `the stream ends before its ${EXPECTED[this.state]} chunk`, { offset: endOffset, details: { expected: EXPECTED[this.state] } });
    }
  }

  result(): Bitstream {
    invariant(this.header !== undefined && this.state === 'done', 'result() before the stream is complete');
    return { header: this.header, segments: this.segments };
  }
}
