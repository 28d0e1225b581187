/// <reference lib="dom" />
/**
 * The bitstream's sound in the browser: each segment's audo chunk decoded to an AudioBuffer of exactly its samples
 * (WebCodecs' AudioDecoder on the raw Opus packets, or Web Audio's decodeAudioData on the segment as Ogg Opus), and
 * scheduled on an AudioContext whose output clock the player then follows, so every frame is drawn when the sound
 * of its instant is heard.
 */
import { audioSampleAt, opusPacketSamples, type BitstreamHeader, type SegmentAudio, type SegmentData } from '../bitstream';
import { oggOpus } from './ogg-opus';

/** How a segment's sound is decoded: WebCodecs' AudioDecoder, or Web Audio's decodeAudioData (measured: README, "Sound"). */
export type AudioDecoding = 'webcodecs' | 'webaudio';

/**
 * The default: Web Audio's decodeAudioData, which every browser has and which decoded the sync clip's 5 s in 10 ms
 * against WebCodecs' 16–22 ms in headless Chromium here (test/e2e/player-sound.test.ts prints both).
 */
export function defaultAudioDecoding(): AudioDecoding {
  return 'webaudio';
}

/** A segment's sound as an AudioBuffer of exactly `audio.sampleCount` frames (pre-skip dropped, the end trimmed). */
export async function decodeSegmentAudio(context: BaseAudioContext, audio: SegmentAudio, how: AudioDecoding = defaultAudioDecoding()): Promise<AudioBuffer> {
  const planes = how === 'webcodecs' ? await decodeWithWebCodecs(audio) : await decodeWithWebAudio(context, audio);
  const out = context.createBuffer(audio.channels, audio.sampleCount, audio.sampleRate);
  for (let c = 0; c < audio.channels; c++) out.copyToChannel(planes[c]!.subarray(0, audio.sampleCount), c);
  return out;
}

/** The decoded samples after pre-skip, per channel (at least sampleCount each; silence where the decoder gave fewer). */
async function decodeWithWebCodecs(audio: SegmentAudio): Promise<Float32Array<ArrayBuffer>[]> {
  const outputs: AudioData[] = [];
  let failure: DOMException | null = null;
  const decoder = new AudioDecoder({ output: (data) => outputs.push(data), error: (e) => (failure = e) });
  decoder.configure({ codec: 'opus', sampleRate: audio.sampleRate, numberOfChannels: audio.channels });
  let timestamp = 0;
  for (const data of audio.packets) {
    decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round((timestamp * 1e6) / audio.sampleRate), data }));
    timestamp += opusPacketSamples(data) as number;
  }
  await decoder.flush();
  decoder.close();
  if (failure !== null) throw failure;
  const total = audio.preSkip + audio.sampleCount;
  const planes = Array.from({ length: audio.channels }, () => new Float32Array(total));
  let at = 0;
  for (const data of outputs) {
    const n = Math.min(data.numberOfFrames, total - at);
    for (let c = 0; c < audio.channels && n > 0; c++) {
      const plane = new Float32Array(data.numberOfFrames);
      data.copyTo(plane, { planeIndex: Math.min(c, data.numberOfChannels - 1), format: 'f32-planar' });
      planes[c]!.set(plane.subarray(0, n), at);
    }
    at += data.numberOfFrames;
    data.close();
  }
  return planes.map((p) => p.subarray(audio.preSkip));
}

/** decodeAudioData on the segment as Ogg Opus: the browser applies the OpusHead's pre-skip and the last page's end trim. */
async function decodeWithWebAudio(context: BaseAudioContext, audio: SegmentAudio): Promise<Float32Array<ArrayBuffer>[]> {
  const ogg = oggOpus(audio);
  const buffer = await context.decodeAudioData(ogg.buffer.slice(ogg.byteOffset, ogg.byteOffset + ogg.byteLength) as ArrayBuffer);
  // a decoder that kept the pre-skip hands back more than the segment: it is dropped here
  const skip = buffer.length >= audio.preSkip + audio.sampleCount ? audio.preSkip : 0;
  return Array.from({ length: audio.channels }, (_, c) => {
    const plane = new Float32Array(audio.sampleCount);
    plane.set(buffer.getChannelData(Math.min(c, buffer.numberOfChannels - 1)).subarray(skip, skip + audio.sampleCount));
    return plane;
  });
}

/** Seconds the player waits after `play` before the sound (and so the picture) starts, so the first buffer is not late. */
const START_LEAD_SECONDS = 0.1;

/**
 * The player's sound: segments' buffers scheduled on `context` from a position, and the clock of what is being heard
 * (the context's output time), which the picture follows while the sound plays.
 */
export class PlayerSound {
  /** Where the segments' sources are connected: a tap for tests, a gain for volume. */
  readonly output: GainNode;
  private readonly buffers = new Map<number, Promise<AudioBuffer | null>>();
  private readonly sources = new Map<number, AudioBufferSourceNode>();
  /** Context time at which `startPosition` (video seconds) is heard; null while stopped. */
  private startContextTime: number | null = null;
  private startPosition = 0;
  /** Counts starts and stops, so a start still waiting for the context gives way to a later stop or start. */
  private runs = 0;

  constructor(
    readonly context: AudioContext,
    private readonly header: BitstreamHeader,
    private readonly decoding: AudioDecoding = defaultAudioDecoding(),
  ) {
    this.output = context.createGain();
    this.output.connect(context.destination);
  }

  /** Decodes segment `n`'s sound (once); null for a silent segment. */
  prepare(n: number, segment: SegmentData): Promise<AudioBuffer | null> {
    let pending = this.buffers.get(n);
    if (pending === undefined) {
      pending = segment.audio === undefined ? Promise.resolve(null) : decodeSegmentAudio(this.context, segment.audio, this.decoding);
      this.buffers.set(n, pending);
    }
    return pending;
  }

  /** The context time being heard now (its output timestamp where the browser gives one). */
  private heardTime(): number {
    const stamp = this.context.getOutputTimestamp?.();
    if (stamp?.contextTime !== undefined && stamp.performanceTime !== undefined && stamp.performanceTime > 0) {
      return stamp.contextTime + (performance.now() - stamp.performanceTime) / 1000;
    }
    return this.context.currentTime - (this.context.outputLatency ?? 0);
  }

  /**
   * Starts the clock at video second `position()` (heard after a short lead); segments are scheduled by `schedule`.
   * Until the context runs (a browser may hold it until the page is interacted with) `time` is null and the player
   * keeps its own clock; the sound then joins at the position the picture has reached.
   */
  async start(position: () => number): Promise<void> {
    this.stop();
    const run = ++this.runs;
    if (this.context.state !== 'running') await this.context.resume();
    if (run !== this.runs) return; // stopped, or started again, meanwhile
    this.startPosition = position();
    this.startContextTime = this.context.currentTime + START_LEAD_SECONDS;
  }

  /** The video second being heard (held at the start position until the lead passes); null while stopped. */
  time(): number | null {
    if (this.startContextTime === null) return null;
    return this.startPosition + Math.max(0, this.heardTime() - this.startContextTime);
  }

  /**
   * Schedules segment `n` (whose sound `prepare` decoded) to be heard where it lies on the video's timeline; a
   * segment whose time has partly passed starts part way, so the sound stays on the picture's clock.
   */
  async schedule(n: number, segment: SegmentData): Promise<void> {
    if (this.startContextTime === null || this.sources.has(n)) return;
    const started = this.startContextTime;
    const buffer = await this.prepare(n, segment);
    if (buffer === null || this.startContextTime !== started || this.sources.has(n)) return;
    const rate = buffer.sampleRate;
    const segmentStart = audioSampleAt(segment.startFrame, this.header, rate) / rate;
    // the buffer's first sample is heard at `when`; nothing is heard before the clock starts (`started`), and a
    // buffer ready late joins at the sample due now
    const when = started + (segmentStart - this.startPosition);
    const at = Math.max(when, started);
    const late = Math.max(0, this.context.currentTime - at);
    const offset = at - when + late;
    if (offset >= buffer.duration) return;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output);
    source.start(at + late, offset);
    source.onended = () => {
      if (this.sources.get(n) === source) this.sources.delete(n);
    };
    this.sources.set(n, source);
  }

  /** Silences every scheduled segment and stops the clock. */
  stop(): void {
    for (const source of this.sources.values()) {
      try {
        source.stop();
      } catch {}
      source.disconnect();
    }
    this.sources.clear();
    this.startContextTime = null;
    this.runs++;
  }
}
