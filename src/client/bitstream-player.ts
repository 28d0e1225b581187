/**
 * Plays a video from its CMVC bitstream alone: the index first, then each segment by an HTTP Range read as
 * playback reaches it, decoded on the client (IT2V / TT2V, no GPU, no video stream) and drawn on a canvas. A
 * stream with sound (v1.2) plays it through Web Audio, and the picture then follows the sound's clock.
 */
import { BitstreamError, readIndex, readSegment, type BitstreamIndex, type SegmentData } from '../bitstream';
import { frameRenderer, type Drawing, type FrameRenderer } from './canvas-renderer';
import { decodeSegment, DecodeError, geometryOf, pixelsOf, recipeSize, type DecodedSegment, type DecodeImage, type FrameRecipe } from './decode';
import { defaultFrameWorkers, FrameWorkers } from './frame-workers';
import { PlayerSound, type AudioDecoding } from './sound';

/** First read: enough for the header and index of most streams (more is asked for when the index says so). */
const INDEX_PROBE_BYTES = 1024;

export interface BitstreamPlayerOptions {
  /** The bitstream's URL (a signed `/v/{id}/bitstream.cmvc`, or the /v1 route with `headers`). */
  url: string;
  headers?: Record<string, string>;
  decodeImage: DecodeImage;
  fetch?: typeof fetch;
  /** Reject motion texts outside the grammar (default true); false reads them as the reference engine does. */
  strictMotion?: boolean;
  /** How frames are drawn (default `auto`: WebGL2's shader on a hardware GPU, else a 2D context). */
  drawing?: Drawing;
  /**
   * Module workers (running this bundle) that compute parts of each frame beside the page's thread, when the CPU
   * computes frames (the 2D renderer). Default: one per core beyond two, at most 3; 0 computes on the page only.
   */
  frameWorkers?: number;
  /**
   * The AudioContext the sound plays on (default: one made when the first segment with sound is read, where the page
   * has Web Audio); false: play silently.
   */
  audio?: AudioContext | false;
  /** How segments' sound is decoded (default: Web Audio's decodeAudioData, measured the faster in Chromium; or WebCodecs). */
  audioDecoding?: AudioDecoding;
  /** Called with the time in seconds and the segment shown, after each drawn frame. */
  onFrame?: (seconds: number, segment: SegmentData) => void;
  /** Called when playback reaches the end (the last frame drawn, the player paused at `duration`). */
  onEnded?: () => void;
  /** Called once when playback stops on an error (a typed DecodeError for bad input). */
  onError?: (error: Error) => void;
}

export class BitstreamPlayer {
  /** Bytes received over the wire so far (Range reads). */
  bytesReceived = 0;
  readonly renderer: FrameRenderer;
  error: Error | null = null;
  private index: BitstreamIndex | null = null;
  /** The whole file, when the server answered a Range read with all of it. */
  private whole: Uint8Array | null = null;
  /** The bytes the index was read from: a segment starting inside them is fetched only from where they end. */
  private prefix: Uint8Array = new Uint8Array(0);
  private readonly segments = new Map<number, Promise<{ data: SegmentData; decoded: DecodedSegment }>>();
  private position = 0;
  private playingSince: number | null = null;
  private frame = 0;
  private readonly fetchImpl: typeof fetch;
  private frameWorkers: FrameWorkers | null;
  /** The frame due next in playback, being made ready while the display waits for its time. */
  private ahead: { key: number; frame: Promise<FrameRecipe> } | null = null;
  /** Frame buffers the page's thread computes into, in turn (a frame's pixels are copied out when it is drawn). */
  private readonly buffers: Uint8Array[] = [];
  private nextBuffer = 0;
  /** The sound, once a segment with sound was read; the clock of playback while it plays. */
  sound: PlayerSound | null = null;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly options: BitstreamPlayerOptions,
  ) {
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.renderer = frameRenderer(canvas, options.drawing);
    this.frameWorkers = this.renderer.kind === '2d' ? FrameWorkers.start(import.meta.url, options.frameWorkers ?? defaultFrameWorkers()) : null;
  }

  /** Workers computing parts of each frame beside the page's thread (0: the page computes them alone). */
  get workers(): number {
    return this.frameWorkers?.size ?? 0;
  }

  /** Draws one frame as playback does: made ready (see `prepare`), then drawn. */
  async draw(recipe: FrameRecipe): Promise<void> {
    this.present(await this.prepare(recipe));
  }

  /**
   * The frame made ready to draw: where the CPU computes frames (the 2D renderer), its pixels — in parts on the
   * frame workers beside the page's thread when there are any —, else the recipe the GPU draws.
   */
  private async prepare(recipe: FrameRecipe): Promise<FrameRecipe> {
    if (this.renderer.kind !== '2d' || recipe.kind === 'still') return recipe;
    if (this.frameWorkers !== null && this.frameWorkers.size > 0) return { kind: 'still', image: await this.frameWorkers.pixels(recipe) };
    const { width, height } = recipeSize(recipe);
    const n = this.nextBuffer++ % 2;
    if (this.buffers[n]?.length !== width * height * 3) this.buffers[n] = new Uint8Array(width * height * 3);
    return { kind: 'still', image: pixelsOf(recipe, this.buffers[n]) };
  }

  private present(frame: FrameRecipe): void {
    this.renderer.draw(frame);
    if (frame.kind === 'still') this.frameWorkers?.recycle(frame.image);
  }

  /** Stops the frame workers (the player then computes frames on the page's thread) and the sound. */
  close(): void {
    this.frameWorkers?.close();
    this.frameWorkers = null;
    this.sound?.stop();
  }

  /** Reads the header and index, and draws the first frame. */
  async open(): Promise<BitstreamIndex> {
    try {
      let want = INDEX_PROBE_BYTES;
      for (;;) {
        const prefix = await this.range(0, want);
        this.prefix = prefix;
        try {
          this.index = readIndex(prefix);
          break;
        } catch (err) {
          const need = err instanceof BitstreamError && err.code === 'need_more' ? Number(err.details?.needBytes) : NaN;
          if (this.whole !== null || !(need > want)) throw err;
          want = need;
        }
      }
      await this.show(0);
      return this.index;
    } catch (err) {
      throw this.fail(err);
    }
  }

  get duration(): number {
    const index = this.required();
    return index.header.frameCount / (index.header.fpsNum / index.header.fpsDen);
  }

  get currentTime(): number {
    if (this.playingSince === null) return this.position;
    // with sound, the picture follows what is heard (held at the start until the sound begins); while the sound
    // cannot start (the browser holds its context), the picture keeps the wall clock
    const heard = this.sound?.time() ?? null;
    return heard ?? this.position + (performance.now() - this.playingSince) / 1000;
  }

  get paused(): boolean {
    return this.playingSince === null;
  }

  /** The geometry and frame rate frames are drawn at. */
  get geometry() {
    return geometryOf(this.required().header);
  }

  play(): void {
    if (this.error !== null || this.playingSince !== null) return;
    if (this.position >= this.duration) this.position = 0;
    this.playingSince = performance.now();
    this.sound?.start(() => this.currentTime).catch((err) => this.fail(err));
    this.tick();
  }

  pause(): void {
    this.position = Math.min(this.duration, this.currentTime);
    this.playingSince = null;
    this.ahead = null;
    this.sound?.stop();
  }

  /** Moves to `seconds` and draws the frame there (fetching its segment if needed). */
  async seek(seconds: number): Promise<void> {
    const playing = !this.paused;
    this.pause();
    this.position = Math.max(0, Math.min(this.duration, seconds));
    await this.show(this.position);
    if (playing) this.play();
  }

  /** Segment `n`, fetched by one Range read and decoded (once). */
  segment(n: number): Promise<{ data: SegmentData; decoded: DecodedSegment }> {
    let pending = this.segments.get(n);
    if (pending === undefined) {
      pending = (async () => {
        const index = this.required();
        const entry = index.segments[n];
        if (entry === undefined) throw new RangeError(`segment ${n} does not exist`);
        const bytes = this.whole !== null ? this.whole.subarray(entry.offset, entry.offset + entry.length) : await this.rangeAfterPrefix(entry.offset, entry.length);
        const data = readSegment(index, n, bytes);
        this.hear(n, data);
        return { data, decoded: await decodeSegment(index.header, data, n, { decodeImage: this.options.decodeImage, strictMotion: this.options.strictMotion }) };
      })();
      this.segments.set(n, pending);
    }
    return pending;
  }

  /** Starts decoding segment `n`'s sound, making the player's sound at the first segment that has any. */
  private hear(n: number, data: SegmentData): void {
    if (data.audio === undefined || this.options.audio === false) return;
    if (this.sound === null) {
      const context = this.options.audio ?? (typeof AudioContext === 'function' ? new AudioContext({ sampleRate: data.audio.sampleRate }) : null);
      if (context === null) return;
      this.sound = new PlayerSound(context, this.required().header, this.options.audioDecoding);
      // a segment with sound met while playing: the sound joins from where the picture is
      if (this.playingSince !== null) this.sound.start(() => this.currentTime).catch((err) => this.fail(err));
    }
    this.sound.prepare(n, data).catch((err) => this.fail(err));
  }

  private required(): BitstreamIndex {
    if (this.index === null) throw new Error('BitstreamPlayer.open() first');
    return this.index;
  }

  /** Where `seconds` falls: segment, and frame within it at the drawn frame rate. */
  private locate(seconds: number): { n: number; frame: number } {
    const index = this.required();
    const sourceFps = index.header.fpsNum / index.header.fpsDen;
    const sourceFrame = Math.min(index.header.frameCount - 1, Math.floor(seconds * sourceFps));
    let n = index.segments.findIndex((s) => sourceFrame < s.startFrame + s.frameCount);
    if (n < 0) n = index.segments.length - 1;
    const segment = index.segments[n] as BitstreamIndex['segments'][number];
    return { n, frame: Math.floor((seconds - segment.startFrame / sourceFps) * this.geometry.fps) };
  }

  private async show(seconds: number): Promise<void> {
    const { n, frame } = this.locate(seconds);
    const { data, decoded } = await this.segment(n);
    await this.draw(decoded.recipeAt(Math.max(0, Math.min(decoded.frameCount - 1, frame))));
    this.options.onFrame?.(seconds, data);
  }

  private tick(): void {
    if (this.playingSince === null) return;
    const seconds = this.currentTime;
    if (seconds >= this.duration) {
      this.pause();
      this.position = this.duration;
      // the clock may pass the end between two animation frames: the last frame is drawn, whatever was skipped
      this.show(this.duration).then(
        () => this.options.onEnded?.(),
        (err) => this.fail(err),
      );
      return;
    }
    const { n, frame } = this.locate(seconds);
    const key = n * 1e6 + frame;
    const next = () => requestAnimationFrame(() => this.tick());
    if (key === this.frame) {
      next();
      return;
    }
    this.segment(n)
      .then(async ({ data, decoded }) => {
        if (this.playingSince === null) return;
        const at = Math.max(0, Math.min(decoded.frameCount - 1, frame));
        // the frame made ready ahead is shown when it is due or just past (late by less than its computation,
        // rather than missed while a later one is computed); one made ready early waits for its time
        const ahead = this.ahead;
        const useAhead = ahead !== null && ahead.key > this.frame && ahead.key <= n * 1e6 + at;
        if (ahead !== null && ahead.key <= n * 1e6 + at) this.ahead = null;
        const ready = useAhead ? ahead.frame : this.prepare(decoded.recipeAt(at));
        const shown = await ready;
        if (this.playingSince === null) return;
        this.frame = useAhead ? ahead.key : key;
        this.present(shown);
        this.options.onFrame?.(seconds, data);
        this.sound?.schedule(n, data).catch((err) => this.fail(err));
        // the next segment is fetched and its keyframes decoded (its sound too, and scheduled) while this one plays
        if (n + 1 < this.required().segments.length) {
          this.segment(n + 1)
            .then((next) => this.sound?.schedule(n + 1, next.data))
            .catch((err) => this.fail(err));
        }
        this.prepareAhead(n, decoded);
        next();
      })
      .catch((err) => this.fail(err));
  }

  /**
   * Starts making ready the frame due one frame interval from now, in segment `n`: computed in a task of its own
   * while the display waits for its time, instead of after the display asked for it.
   */
  private prepareAhead(n: number, decoded: DecodedSegment): void {
    const due = this.locate(this.currentTime + 1 / this.geometry.fps);
    if (due.n !== n || due.frame >= decoded.frameCount) return;
    const key = n * 1e6 + due.frame;
    if (key <= this.frame || (this.ahead !== null && this.ahead.key >= key)) return;
    const frame = new Promise<FrameRecipe>((resolve, reject) => setTimeout(() => this.prepare(decoded.recipeAt(due.frame)).then(resolve, reject), 0));
    // a frame made ready for nothing (playback paused, or fell further behind) is dropped unseen
    frame.catch(() => {});
    this.ahead = { key, frame };
  }

  private fail(err: unknown): Error {
    const error = err instanceof DecodeError ? err : err instanceof BitstreamError ? new DecodeError('bad_bitstream', `not a valid CMVC bitstream: ${err.message}`, {}, { cause: err }) : (err as Error);
    if (this.error === null) {
      this.error = error;
      this.playingSince = null;
      this.options.onError?.(error);
    }
    return error;
  }

  private async rangeAfterPrefix(offset: number, length: number): Promise<Uint8Array> {
    const known = Math.max(0, Math.min(length, this.prefix.length - offset));
    if (known === 0) return this.range(offset, length);
    const out = new Uint8Array(length);
    out.set(this.prefix.subarray(offset, offset + known));
    if (known < length) out.set(await this.range(offset + known, length - known), known);
    return out;
  }

  /** Bytes [offset, offset + length) by a Range read; a server that sends the whole file is remembered. */
  private async range(offset: number, length: number): Promise<Uint8Array> {
    if (this.whole !== null) return this.whole.subarray(offset, offset + length);
    const response = await this.fetchImpl(this.options.url, { headers: { ...this.options.headers, Range: `bytes=${offset}-${offset + length - 1}` } });
    if (!response.ok) throw new Error(`the bitstream request failed: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.bytesReceived += bytes.byteLength;
    if (response.status === 200) {
      this.whole = bytes;
      return bytes.subarray(offset, offset + length);
    }
    return bytes;
  }
}
