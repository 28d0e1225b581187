/**
 * Plays a video from its CMVC bitstream alone: the index first, then each segment by an HTTP Range read as
 * playback reaches it, decoded on the client (IT2V / TT2V, no GPU, no video stream) and drawn on a canvas. A
 * stream with sound (v1.2) plays it through Web Audio, and the picture then follows the sound's clock.
 *
 * Adaptive (`adaptive`) and live streams are read segment by segment as cuts of their own (`segments=a-b`, and
 * `maxKbps` at the rate the measured network fits): a live stream is followed near its edge as segments land, the
 * player waits (a stall, counted) when the next is not there yet and jumps back to the edge when it fell behind; on a
 * link too slow for one request per segment, requests take several segments at once.
 */
import { BitstreamError, readBitstream, readIndex, readSegment, type BitstreamIndex, type SegmentData } from '../bitstream';
import { AdaptiveRate, type RateBounds } from './adaptive-rate';
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
  /**
   * Choose each segment's rate from the measured network (one request per segment or group of segments, each cut to
   * `maxKbps` at the edge), within these bounds; the URL must let its holder set `maxKbps` and `segments` (a signed
   * bitstream URL does). Absent: every segment whole, by Range reads (a live stream: segment by segment, whole).
   */
  adaptive?: RateBounds;
  /** Follow the stream's live edge while it is live (default true; the server says whether it is, in `CMVC-Live`). */
  follow?: boolean;
  /** Called with each segment read (its rate, bytes and where it came from), for pages that show them. */
  onSegment?: (info: SegmentInfo) => void;
  /** Called when a stall starts and ends (the next segment was not there when due). */
  onStall?: (stalled: boolean) => void;
}

/** What a segment read brought (adaptive or live reads). */
export interface SegmentInfo {
  n: number;
  /** Its first frame in the stream (what `onFrame`'s segment carries). */
  startFrame: number;
  /** The maxKbps asked (null: whole). */
  maxKbps: number | null;
  /** The rate the cut reached (CMVC-Kbps), kbps, for the group it came in. */
  kbps: number | null;
  /** Bytes of the group it came in, and how many segments that group had. */
  bytes: number;
  groupSize: number;
  /** Keyframes the cut dropped in that group (CMVC-Keyframes-Dropped), and whether the sound was kept. */
  keyframesDropped: number;
  audio: string | null;
  /** The chunk of a live video the segment was coded from (CMVC-Live-Chunk of a one-segment read), when known. */
  chunk: number | null;
  /** The throughput estimate the rate was chosen from, kbps. */
  estimateKbps: number | null;
  /** When it arrived (performance.now()). */
  at: number;
}

/** Live: how long one request waits for a segment not coded yet (the server's `Prefer: wait`), seconds. */
const LIVE_WAIT_SECONDS = 10;
/** Live: more than this many seconds behind the newest segment's start while following, the player jumps there. */
export const CATCH_UP_SECONDS = 4;
/** Adaptive reads keep this many seconds requested ahead of playback. */
const BUFFER_AHEAD_SECONDS = 6;
/** A request may take this share of the seconds it fetches before the next takes more segments at once. */
const REQUEST_SHARE = 0.5;
const MAX_GROUP = 8;

export class BitstreamPlayer {
  /** Bytes received over the wire so far (Range reads). */
  bytesReceived = 0;
  /** Stalls so far (the next segment was not there when due), and the seconds spent in them. */
  stalls = 0;
  stalledSeconds = 0;
  /** Each segment read in adaptive or live mode, in order of arrival. */
  readonly segmentLog: SegmentInfo[] = [];
  /** Whether the stream was live when read (its bitstream grows); `liveEnded` once the server said it ended. */
  live = false;
  liveEnded = false;
  /** Segments the server says the live stream has (CMVC-Live-Segments). */
  liveSegments = 0;
  /** Whether playback follows the live edge (a seek behind it stops following; `goLive` follows again). */
  following = true;
  private readonly rate: AdaptiveRate | null;
  /** Segments asked for in groups (adaptive or live): each segment's read. */
  private readonly groups = new Map<number, Promise<SegmentData>>();
  private nextToRequest = 0;
  private groupSize = 1;
  /** How long the last read took, in seconds (its server-side wait left out). */
  private lastRequestSeconds = 0;
  /** The read in flight (one at a time), settled when it is done. */
  private inflight: Promise<void> | null = null;
  private closed = false;
  private stallSince: number | null = null;
  private resumeAfterStall = false;
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
    this.rate = options.adaptive === undefined ? null : new AdaptiveRate(options.adaptive);
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
    this.closed = true;
    this.frameWorkers?.close();
    this.frameWorkers = null;
    this.sound?.stop();
  }

  /** Reads the header and index, and draws the first frame. */
  async open(): Promise<BitstreamIndex> {
    try {
      let want = INDEX_PROBE_BYTES;
      for (;;) {
        const prefix = await this.range(0, want, true);
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
      // a live stream's index is a copy that grows as its segments are read
      this.index = { ...this.index, header: { ...this.index.header }, segments: [...this.index.segments] };
      this.nextToRequest = 0;
      if (this.live && this.options.follow !== false) {
        // near the live edge: from the start of the newest segment
        this.position = this.segmentStart(Math.max(0, this.index.segments.length - 1));
        this.nextToRequest = Math.max(0, this.index.segments.length - 1);
      }
      await this.show(this.position);
      return this.index;
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** Reads segments one group at a time (adaptive or live). */
  private get grouped(): boolean {
    return this.rate !== null || this.live;
  }

  private segmentStart(n: number): number {
    const index = this.required();
    const entry = index.segments[n];
    return entry === undefined ? 0 : entry.startFrame / (index.header.fpsNum / index.header.fpsDen);
  }

  /** The end of what is known of the stream, in seconds (grows while live). */
  private get knownEnd(): number {
    return this.duration;
  }

  /** Jumps to the live edge (the newest segment's start) and follows it again. */
  async goLive(): Promise<void> {
    this.following = true;
    await this.seek(this.segmentStart(Math.max(0, this.required().segments.length - 1)));
    this.following = true;
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
    const playing = !this.paused || this.resumeAfterStall;
    this.pause();
    this.position = Math.max(0, Math.min(this.duration, seconds));
    if (this.live) this.following = this.position >= this.segmentStart(Math.max(0, this.required().segments.length - 1));
    if (this.grouped) this.nextToRequest = Math.min(this.nextToRequest, this.locate(this.position).n);
    await this.show(this.position);
    if (playing) this.play();
  }

  /** Segment `n`, fetched by one Range read and decoded (once). */
  segment(n: number): Promise<{ data: SegmentData; decoded: DecodedSegment }> {
    let pending = this.segments.get(n);
    if (pending === undefined && this.grouped) {
      pending = (async () => {
        const data = await this.read(n);
        this.hear(n, data);
        const decoded = await decodeSegment(this.required().header, data, n, { decodeImage: this.options.decodeImage, strictMotion: this.options.strictMotion });
        this.ready.add(n);
        return { data, decoded };
      })();
      this.segments.set(n, pending);
    }
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
    if (this.grouped) this.pump();
    if (this.live && !this.liveEnded && seconds >= this.knownEnd) {
      // the live edge: wait for the next segment
      this.stall(this.required().segments.length);
      return;
    }
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
    if (this.grouped && !this.ready.has(n)) {
      this.stall(n);
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
        if (this.grouped && this.groups.has(n + 1)) this.segment(n + 1).catch(() => {}); // read already: decoded ahead
        else if (!this.grouped && n + 1 < this.required().segments.length) {
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

  /** Segments read and decoded (adaptive or live): playback reaches them without waiting. */
  private readonly ready = new Set<number>();

  /**
   * Waits for segment `n` (a stall, counted): the clock holds on the frame shown, and playback goes on when the segment
   * is there; following a live stream, it then jumps to the edge if the stall left it more than CATCH_UP_SECONDS behind.
   */
  private stall(n: number): void {
    if (this.stallSince === null) {
      this.stallSince = performance.now();
      this.stalls += 1;
      this.options.onStall?.(true);
    }
    const position = Math.min(this.currentTime, this.knownEnd);
    this.pause();
    this.position = position;
    this.resumeAfterStall = true;
    this.pump();
    this.segment(n)
      .then(() => {
        if (!this.resumeAfterStall || this.closed) return;
        this.resumeAfterStall = false;
        if (this.stallSince !== null) this.stalledSeconds += (performance.now() - this.stallSince) / 1000;
        this.stallSince = null;
        this.options.onStall?.(false);
        const edge = this.segmentStart(this.required().segments.length - 1);
        if (this.live && this.following && edge - this.position > CATCH_UP_SECONDS) this.position = edge;
        this.play();
      })
      .catch((err) => {
        if (!(err instanceof StreamEnded)) return this.fail(err);
        // the live stream ended at what was shown: playback ends there
        this.resumeAfterStall = false;
        this.stallSince = null;
        this.options.onStall?.(false);
        this.position = this.duration;
        this.options.onEnded?.();
      });
  }

  /**
   * Keeps reads going ahead of playback (adaptive or live), one request at a time: the next group of segments not
   * asked for yet, while less than BUFFER_AHEAD_SECONDS is asked ahead; live, the next segment not coded yet is asked
   * with a wait, so it comes as it lands.
   */
  private pump(): void {
    if (this.inflight !== null || this.closed || this.error !== null) return;
    const index = this.required();
    let first = this.nextToRequest;
    while (this.groups.has(first)) first++;
    const known = index.segments.length;
    if (first >= known && (!this.live || this.liveEnded)) return;
    const playing = this.locate(Math.min(this.currentTime, Math.max(0, this.knownEnd - 1e-3))).n;
    const aheadSeconds = (first < known ? this.segmentStart(first) : this.knownEnd) - this.currentTime;
    // ask early enough that a request as slow as the last one lands, twice over, before it is needed
    if (first > playing + 1 && aheadSeconds > Math.max(BUFFER_AHEAD_SECONDS, 2 * this.lastRequestSeconds)) return;
    const available = this.live ? Math.max(known, this.liveSegments) : known;
    let last = first;
    while (last + 1 < Math.min(first + this.groupSize, available) && !this.groups.has(last + 1)) last++;
    const reading = this.readGroup(first, last);
    for (let m = first; m <= last; m++) {
      const one = reading.then((group) => {
        const data = group[m - first];
        if (data === undefined) throw new StreamEnded(m);
        return data;
      });
      one.catch(() => {});
      this.groups.set(m, one);
    }
    this.nextToRequest = last + 1;
    this.inflight = reading.then(
      (group) => {
        this.inflight = null;
        // an ended stream had fewer segments than asked: those are not asked again
        for (let m = first + group.length; m <= last; m++) this.groups.delete(m);
        if (group.length < last - first + 1) this.nextToRequest = first + group.length;
        // decoded as soon as read, so playback reaches them without waiting
        for (let m = first; m < first + group.length; m++) this.segment(m).catch(() => {});
        if (this.playingSince !== null || this.resumeAfterStall) this.pump();
      },
      (err) => {
        this.inflight = null;
        this.fail(err);
      },
    );
  }

  /** Segment `n` as read in its group (asking for its group as soon as no other request is in flight). */
  private async read(n: number): Promise<SegmentData> {
    for (;;) {
      const pending = this.groups.get(n);
      if (pending !== undefined) return pending;
      if (this.liveEnded && n >= this.required().segments.length) throw new StreamEnded(n);
      if (this.inflight === null) {
        this.nextToRequest = n;
        this.pump();
        if (!this.groups.has(n)) throw new StreamEnded(n);
      } else {
        await this.inflight;
      }
    }
  }

  /**
   * Segments [first, last] as one cut (`segments=first-last`, `maxKbps` chosen from the measured network): live, the
   * read of a segment not coded yet waits for it on the server and asks again until it comes or the stream ends.
   */
  private async readGroup(first: number, last: number): Promise<SegmentData[]> {
    const url = new URL(this.options.url, globalThis.location?.href);
    url.searchParams.set('segments', first === last ? String(first) : `${first}-${last}`);
    const starving = this.currentTime >= this.knownEnd - 0.25 || this.stallSince !== null;
    const maxKbps = this.rate?.choose(starving) ?? null;
    if (maxKbps !== null) url.searchParams.set('maxKbps', maxKbps.toFixed(3));
    for (;;) {
      const started = performance.now();
      const response = await this.fetchImpl(url.toString(), { headers: { ...this.options.headers, ...(this.live ? { Prefer: `wait=${LIVE_WAIT_SECONDS}` } : {}) } });
      this.learnLive(response);
      if (response.status === 404 && this.live) {
        await response.arrayBuffer();
        if (this.liveEnded) return []; // the stream ended before this segment: there is none
        continue; // not coded within the wait: ask again
      }
      if (!response.ok) throw new Error(`the bitstream request failed: HTTP ${response.status}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const ended = performance.now();
      this.bytesReceived += bytes.byteLength;
      const waited = serverWaitMs(response);
      this.rate?.observe(bytes.byteLength, ended - started - waited);
      const group = readBitstream(bytes).segments;
      if (group.length !== last - first + 1) throw new DecodeError('bad_bitstream', `asked for segments ${first}-${last}, got ${group.length}`);
      this.grow(first, group, response.headers.get('CMVC-Live-Segments'));
      // a request's own cost (its latency, and a link's packets: a DevTools-emulated link charges whole 1500-byte
      // packets) is paid once per request: on a slow link the next requests take several segments at once
      const fps = this.required().header.fpsNum / this.required().header.fpsDen;
      this.sizeGroups((ended - started - waited) / 1000, group.reduce((sum, s) => sum + s.frameCount, 0) / fps / group.length);
      const info = {
        maxKbps,
        kbps: numberHeader(response, 'CMVC-Kbps'),
        bytes: bytes.byteLength,
        groupSize: group.length,
        keyframesDropped: numberHeader(response, 'CMVC-Keyframes-Dropped') ?? 0,
        audio: response.headers.get('CMVC-Audio'),
        chunk: first === last ? numberHeader(response, 'CMVC-Live-Chunk') : null,
        estimateKbps: this.rate?.estimateKbps ?? null,
        at: ended,
      };
      group.forEach((segment, i) => {
        const segmentInfo = { ...info, n: first + i, startFrame: segment.startFrame };
        this.segmentLog.push(segmentInfo);
        this.options.onSegment?.(segmentInfo);
      });
      return group;
    }
  }

  /**
   * Segments per request from the last request's time (`tookSeconds`) and the seconds a segment lasts: enough that a
   * request takes at most REQUEST_SHARE of the seconds it brings.
   */
  private sizeGroups(tookSeconds: number, segmentSeconds: number): void {
    this.lastRequestSeconds = tookSeconds;
    if (!(segmentSeconds > 0)) return;
    this.groupSize = Math.max(1, Math.min(MAX_GROUP, Math.ceil(tookSeconds / (REQUEST_SHARE * segmentSeconds))));
  }

  /** Adds segments read past the index (a live stream's new ones) to it, and the stream's length to the header. */
  private grow(first: number, group: SegmentData[], liveSegments: string | null): void {
    const index = this.required();
    group.forEach((s, i) => {
      const n = first + i;
      if (n >= index.segments.length) index.segments[n] = { offset: -1, length: -1, startFrame: s.startFrame, frameCount: s.frameCount };
    });
    const last = index.segments.at(-1);
    if (last !== undefined) index.header.frameCount = Math.max(index.header.frameCount, last.startFrame + last.frameCount);
    if (liveSegments !== null) this.liveSegments = Math.max(this.liveSegments, Number(liveSegments));
  }

  private learnLive(response: Response): void {
    const state = response.headers.get('CMVC-Live');
    if (state === 'live') this.live = true;
    if (state === 'ended' && this.live) this.liveEnded = true;
    const segments = response.headers.get('CMVC-Live-Segments');
    if (segments !== null) this.liveSegments = Math.max(this.liveSegments, Number(segments));
  }

  /**
   * Bytes [offset, offset + length) by a Range read; a server that sends the whole file is remembered. `first`: the
   * index read, which learns whether the stream is live (and, live with nothing coded yet, waits for its first segment).
   */
  private async range(offset: number, length: number, first = false): Promise<Uint8Array> {
    if (this.whole !== null) return this.whole.subarray(offset, offset + length);
    // a live stream with nothing coded yet answers the index read when its first segment is (the server waits)
    const headers = { ...this.options.headers, Range: `bytes=${offset}-${offset + length - 1}`, ...(first ? { Prefer: `wait=${LIVE_WAIT_SECONDS}` } : {}) };
    let started = performance.now();
    let response = await this.fetchImpl(this.options.url, { headers });
    while (first && response.status === 409 && response.headers.get('CMVC-Live') === 'live' && !this.closed) {
      await response.arrayBuffer();
      started = performance.now();
      response = await this.fetchImpl(this.options.url, { headers });
    }
    if (first) this.learnLive(response);
    if (!response.ok) throw new Error(`the bitstream request failed: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.bytesReceived += bytes.byteLength;
    if (first && this.rate !== null) {
      // the index read is the first measure of the link: the first segments are asked by it
      const took = performance.now() - started - serverWaitMs(response);
      this.rate.observe(bytes.byteLength, took);
      try {
        const index = readIndex(bytes);
        this.sizeGroups(took / 1000, index.header.frameCount / (index.header.fpsNum / index.header.fpsDen) / Math.max(1, index.segments.length));
      } catch {
        // a prefix too short for the index: the next read measures
      }
    }
    // a live stream's bytes change with every chunk: never kept whole
    if (response.status === 200 && this.live) return bytes.subarray(offset, offset + length);
    if (response.status === 200) {
      this.whole = bytes;
      return bytes.subarray(offset, offset + length);
    }
    return bytes;
  }
}

function numberHeader(response: Response, name: string): number | null {
  const value = response.headers.get(name);
  return value === null || value === '' || !Number.isFinite(Number(value)) ? null : Number(value);
}

/** Milliseconds the server says it waited before answering (`Server-Timing: wait;dur=N`): not the network's time. */
function serverWaitMs(response: Response): number {
  const timing = response.headers.get('Server-Timing') ?? '';
  const match = /(?:^|,)\s*wait;dur=([0-9.]+)/.exec(timing);
  return match ? Number(match[1]) : 0;
}

/** A segment past the end of a live stream that ended. */
class StreamEnded extends Error {
  constructor(readonly n: number) {
    super(`the stream ended before segment ${n}`);
  }
}
