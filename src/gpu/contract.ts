/**
 * The GPU function contract, version 2: the single statement of every shape that crosses the
 * Worker ⇄ GPU function boundary. `npm run schemas` exports these to `schemas/gpu/*.json`, which
 * the Python side validates against; a test fails when the two drift apart.
 *
 * Units: frame rates in frames per second, durations in seconds, sizes in bytes, geometry in pixels.
 * Videos a function makes or reads travel as bytes over HTTP, never inside JSON: it PUTs its output
 * to the single-use upload target of the request and GETs its input videos from short-lived URLs.
 * Only small payloads (small keyframes, an encode source sent inline) travel as standard base64
 * strings; a generate request names a large keyframe by URL and byte range instead.
 */
import { z } from 'zod';
import { MODES } from '../shared/modes';

export const CONTRACT_VERSION = '2';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'standard base64').describe('standard base64');
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');

export const Mode = z.enum(MODES).describe('tt2v: texts only; it2v: keyframe + motion text');
export type Mode = z.infer<typeof Mode>;
/** Every reconstruction mode, in order (declared in shared/modes.ts): route patterns, OpenAPI enums and view links derive from it. */
export { MODES };

export const KeyframeCodec = z.enum(['webp', 'jpeg']);
export const Container = z.enum(['mp4', 'webm']);

export const EngineInfo = z
  .object({
    id: z.string().min(1).max(64),
    version: z.string().min(1).max(64),
    models: z.record(z.string(), z.string()).describe('model role → "id@revision"'),
  })
  .strict();
export type EngineInfo = z.infer<typeof EngineInfo>;

export const Seconds = z
  .object({
    gpu: z.number().nonnegative().describe('accelerator seconds spent, input fetches excluded'),
    cpu: z.number().nonnegative().describe('CPU wall seconds spent, input fetches excluded'),
    fetch: z
      .number()
      .nonnegative()
      .optional()
      .describe('wall seconds spent fetching inputs by URL (sources, keyframe images, videos to interpolate or assemble); absent from functions deployed before it was reported'),
  })
  .strict();

/**
 * Seconds a call spent, from what it reports: `gpu` (accelerator seconds) and `cpu` (wall seconds)
 * measure the same computation and overlap (the model engine on a GPU reports its wall time as both),
 * so the larger one, not their sum; plus `fetch` and `upload`, the wall seconds the function spent
 * reading its inputs and writing its output file, during which its (GPU) container is still held.
 */
export const spentSeconds = (seconds: { gpu: number; cpu: number; fetch?: number; upload?: number }) =>
  Math.max(seconds.gpu, seconds.cpu) + (seconds.fetch ?? 0) + (seconds.upload ?? 0);

/** Seconds of a call that writes an output file: the upload is reported apart from the compute. */
export const OutputSeconds = Seconds.extend({
  upload: z.number().nonnegative().describe('wall seconds spent uploading the output file to its target'),
}).strict();

/** Header carrying the base64 SHA-256 of an uploaded body; the store refuses a body that does not match it. */
export const UPLOAD_CHECKSUM_HEADER = 'x-amz-checksum-sha256';

/**
 * Header of a submit naming its idempotency key (1–200 of `A-Z a-z 0-9 . _ : ~ -`): while the call it
 * started is remembered, a submit of the same function with the same key answers that call's id and
 * starts nothing, so a submit whose answer was lost can be sent again without running twice.
 */
export const SUBMIT_IDEMPOTENCY_HEADER = 'Idempotency-Key';

export const UploadTarget = z
  .object({
    url: z.url().max(8192).describe('where the function PUTs its output file (single-use, short-lived)'),
    headers: z.record(z.string().max(256), z.string().max(4096)).default({}).describe('extra headers the PUT must carry'),
  })
  .strict()
  .describe(`the function PUTs its whole output file here with Content-Length and ${UPLOAD_CHECKSUM_HEADER} (base64 SHA-256 of the body)`);
export type UploadTarget = z.infer<typeof UploadTarget>;

/** An input video that a function GETs by URL: artifacts never travel inline. */
export const VideoUrl = z.object({ url: z.url().max(8192).describe('a short-lived URL the function may GET') }).strict();

export const Keyframe = z
  .object({
    codec: KeyframeCodec,
    width: positiveInt.max(8192),
    height: positiveInt.max(8192),
    data: base64,
    frameIndex: nonNegativeInt.describe('the frame within the segment this image shows, at the frame rate of the message it travels in'),
    priority: z.number().int().min(0).max(255).describe('higher is kept longer; keyframes are dropped lowest priority first'),
  })
  .strict();
export type Keyframe = z.infer<typeof Keyframe>;

/** Largest keyframe image a generate request may name, in bytes: the bitstream's default maxKeyframeBytes. */
export const MAX_KEYFRAME_BYTES = 8 * 1024 * 1024;

/** Where a keyframe's image lies: bytes [offset, offset + length) of what `url` returns. */
export const KeyframeSource = z
  .object({
    url: z.url().max(8192).describe('a short-lived URL the function may GET (with a Range header)'),
    offset: nonNegativeInt.describe('the image\'s first byte in what the URL returns'),
    length: positiveInt.max(MAX_KEYFRAME_BYTES).describe('the image\'s size in bytes'),
  })
  .strict()
  .describe(`GET url with "Range: bytes={offset}-{offset + length - 1}"; the image is exactly length bytes`);

/**
 * A generate request's keyframe: its image inline (`data`, for small ones), or by URL (`source`, a byte
 * range of the stored bitstream), so a large image never travels inside the request's JSON.
 */
export const GenerateKeyframe = z.union([Keyframe, Keyframe.omit({ data: true }).extend({ source: KeyframeSource }).strict()]);
export type GenerateKeyframe = z.infer<typeof GenerateKeyframe>;

/** Most keyframes one segment carries (the bitstream's default maxKeyframesPerSegment). */
export const MAX_KEYFRAMES_PER_SEGMENT = 64;

/**
 * A segment's keyframes: sorted by `frameIndex`, unique, each `< frameCount` (checked where the frame
 * count is known: `keyframesProblem`). JSON Schema states the shape; the order rule is code on both sides.
 */
export const Keyframes = z.array(Keyframe).max(MAX_KEYFRAMES_PER_SEGMENT).describe('sorted by frameIndex, unique, each frameIndex < the frame count');

/** Why `keyframes` breaks the order rules for a segment of `frameCount` frames, or null. */
export function keyframesProblem(keyframes: readonly Pick<Keyframe, 'frameIndex'>[], frameCount: number): { index: number; message: string } | null {
  for (let i = 0; i < keyframes.length; i++) {
    const k = keyframes[i]!;
    if (k.frameIndex >= frameCount) return { index: i, message: `frameIndex ${k.frameIndex} is not below the frame count ${frameCount}` };
    const previous = keyframes[i - 1];
    if (previous !== undefined && k.frameIndex <= previous.frameIndex) return { index: i, message: `frameIndex ${k.frameIndex} is not above the previous ${previous.frameIndex} (sorted, unique)` };
  }
  return null;
}

export const VideoSource = z.union([
  z.object({ url: z.url().max(4096).describe('a short-lived URL the function may fetch') }).strict(),
  z.object({ data: base64.describe('the whole file') }).strict(),
]);

/**
 * How long a generation may take, declared once (exported as `schemas/gpu/timing.json`). Everything that
 * waits for, bounds or outlives a generation's GPU call moves with it: the Modal app's `generate` function
 * times out at `generationDeadlineSeconds` (`SEGMENT_TIMEOUT`); the Worker polls a submitted call until
 * `submittedAt + generationDeadlineSeconds + queueMarginSeconds` and afterwards resumes it by id, never
 * submitting it again while it may still run; an upload target and a GPU reservation live as long; and
 * `gpu:plan` fails when a segment's wall time (cold starts included) does not fit the deadline.
 */
export const GENERATION_TIMING = {
  /** The longest one generation call (a segment's `generate`, an `interpolate`, an `assemble`) runs, in seconds. */
  generationDeadlineSeconds: 30 * 60,
  /** Allowed on top for a call to wait in the backend's queue before it starts and to upload its output, in seconds. */
  queueMarginSeconds: 5 * 60,
  /**
   * The longest segment an encode cuts (`maxSegmentSeconds`), in seconds: the longest multiple of 5 s
   * whose generation ends within three quarters of the deadline in every mode and schedule of the model
   * engine's time model (`gpu:plan`), with one keyframe per segment (image-to-video calls one after
   * another) and every container starting cold; the last quarter absorbs cold starts slower than planned.
   */
  maxSegmentSeconds: 15,
} as const;

/** How long a generation's call may be outstanding, from its submit, in milliseconds: its deadline plus the queue margin. */
export const GENERATION_CALL_LIFETIME_MS = (GENERATION_TIMING.generationDeadlineSeconds + GENERATION_TIMING.queueMarginSeconds) * 1000;

/** kbps range of `targetKbps` at upload and in the contract. */
export const TARGET_KBPS_RANGE = { min: 0.2, max: 1000 } as const;

/** kbps of `audioKbps`: 0 (no sound), else within this range (Opus: speech from 6, music from about 16–24). */
export const AUDIO_KBPS_RANGE = { min: 6, max: 128 } as const;
/**
 * The default `audioKbps`, chosen by measuring (README, "Sound"): Opus at 16 kbps keeps speech at wideband
 * quality and music recognisable, mono below 32 kbps.
 */
export const DEFAULT_AUDIO_KBPS = 16;
/** The audio codec of the bitstream and of the encode result. */
export const AudioCodec = z.enum(['opus']);

export const EncodeOptions = z
  .object({
    minSegmentSeconds: z.number().positive().max(GENERATION_TIMING.maxSegmentSeconds).default(1),
    maxSegmentSeconds: z
      .number()
      .positive()
      .max(GENERATION_TIMING.maxSegmentSeconds)
      .default(10)
      .describe('the longest segment cut; at most what a generation finishes inside its deadline (GENERATION_TIMING)'),
    keyframeBudgetBytes: positiveInt.min(64).max(1_000_000).default(1024),
    keyframeCodec: KeyframeCodec.default('webp'),
    keyframeMaxWidth: positiveInt.min(16).max(4096).default(320),
    maxTextChars: positiveInt.min(16).max(4000).default(600),
    targetKbps: z
      .number()
      .min(TARGET_KBPS_RANGE.min)
      .max(TARGET_KBPS_RANGE.max)
      .nullable()
      .default(null)
      .describe('the one rate knob: the encoder picks keyframe count, places, sizes and budgets to land near this rate; null: one keyframe per segment under keyframeBudgetBytes'),
    audioKbps: z
      .union([z.literal(0), z.number().int().min(AUDIO_KBPS_RANGE.min).max(AUDIO_KBPS_RANGE.max)])
      .default(DEFAULT_AUDIO_KBPS)
      .describe(`the sound's rate, kbps (Opus, coded once, beside targetKbps): 0 for none, else an integer in ${AUDIO_KBPS_RANGE.min}..${AUDIO_KBPS_RANGE.max}; stereo from 32, else mono`),
    frameRate: z
      .number()
      .min(1)
      .max(120)
      .nullable()
      .default(null)
      .describe('frames per second to code the video at, its frames placed on that constant rate by their timestamps (a camera recorder such as a browser\'s MediaRecorder writes a variable rate and states none); null: the source\'s own rate'),
    audioStream: nonNegativeInt
      .max(63)
      .nullable()
      .default(null)
      .describe('which audio stream of the source to code (0-based among its audio streams); null: the first'),
  })
  .strict();
export type EncodeOptions = z.infer<typeof EncodeOptions>;

export const EncodeRequest = z
  .object({
    video: VideoSource,
    options: EncodeOptions.default(EncodeOptions.parse({})),
  })
  .strict();
export type EncodeRequest = z.input<typeof EncodeRequest>;

export const VideoMeta = z
  .object({
    width: positiveInt,
    height: positiveInt,
    fps: z.number().positive().max(1000),
    frameCount: positiveInt,
    durationSeconds: z.number().positive(),
    codec: z.string().max(64),
    rotation: z.number().int().default(0),
  })
  .strict();

export const EncodedSegment = z
  .object({
    index: nonNegativeInt,
    startFrame: nonNegativeInt,
    frameCount: positiveInt,
    contentText: z.string().min(1).max(4000),
    motionText: z.string().min(1).max(4000),
    keyframes: Keyframes.describe('frameIndex at the source frame rate, < frameCount; sorted, unique'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const problem = keyframesProblem(s.keyframes, s.frameCount);
    if (problem) ctx.addIssue({ code: 'custom', path: ['keyframes', problem.index, 'frameIndex'], message: problem.message });
  });
export type EncodedSegment = z.infer<typeof EncodedSegment>;

/**
 * The source's sound, coded per segment: `segments[i]` is `segments[i]` of the response, its Opus packets decoding
 * (after `preSkip` samples) to exactly `sampleCount` samples — the segment's frames at 48 kHz, frame f at sample
 * floor(f × 48000 / fps) with fps as the bitstream header states it.
 */
export const EncodedAudio = z
  .object({
    codec: AudioCodec,
    channels: z.number().int().min(1).max(2),
    sampleRate: z.literal(48_000),
    sourceChannels: positiveInt.max(255).describe('channels of the source stream (downmixed to `channels`)'),
    sourceSampleRate: positiveInt.max(1_000_000).describe('samples per second of the source stream (resampled to 48 kHz)'),
    segments: z
      .array(
        z
          .object({
            preSkip: nonNegativeInt.describe('decoded samples to drop first (encoder delay and pre-roll)'),
            sampleCount: positiveInt.describe('samples kept after preSkip: the segment at 48 kHz'),
            packets: z.array(base64).min(1).describe('Opus packets (RFC 6716), in order'),
          })
          .strict(),
      )
      .min(1)
      .max(10_000),
  })
  .strict();
export type EncodedAudio = z.infer<typeof EncodedAudio>;

/** Something the encode did not do as asked but that did not stop it (the job reports it). */
export const EncodeWarning = z
  .object({
    code: z.enum(['audio_undecodable', 'audio_damaged', 'audio_short', 'audio_stream_missing']),
    message: z.string().max(1000),
  })
  .strict();
export type EncodeWarning = z.infer<typeof EncodeWarning>;

export const EncodeResponse = z
  .object({
    engine: EngineInfo,
    video: VideoMeta,
    segments: z.array(EncodedSegment).min(1).max(10_000),
    // defaults: a backend older than sound answers without them
    audio: EncodedAudio.nullable().default(null).describe('null: no sound (audioKbps 0, a source without audio, or one whose audio does not decode: see warnings)'),
    warnings: z.array(EncodeWarning).max(16).default([]),
    seconds: Seconds,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.audio !== null && r.audio.segments.length !== r.segments.length) {
      ctx.addIssue({ code: 'custom', path: ['audio', 'segments'], message: `audio has ${r.audio.segments.length} segments, not the ${r.segments.length} of the video` });
    }
  });
export type EncodeResponse = z.infer<typeof EncodeResponse>;

export const GenerateRequest = z
  .object({
    mode: Mode,
    segment: z
      .object({
        contentText: z.string().min(1).max(4000),
        motionText: z.string().min(1).max(4000),
        keyframes: z
          .array(GenerateKeyframe)
          .max(MAX_KEYFRAMES_PER_SEGMENT)
          .default([])
          .describe('frameIndex on this request\'s output frame grid (fps), < frameCount; sorted, unique'),
      })
      .strict(),
    width: positiveInt.min(16).max(4096),
    height: positiveInt.min(16).max(4096),
    fps: z.number().positive().max(120),
    frameCount: positiveInt.max(10_000),
    seed: nonNegativeInt.max(2 ** 32 - 1),
    container: Container.default('mp4'),
    output: UploadTarget,
  })
  .strict()
  .superRefine((r, ctx) => {
    const problem = keyframesProblem(r.segment.keyframes, r.frameCount);
    if (problem) ctx.addIssue({ code: 'custom', path: ['segment', 'keyframes', problem.index, 'frameIndex'], message: problem.message });
  });
export type GenerateRequest = z.input<typeof GenerateRequest>;

export const VideoFile = z
  .object({
    container: Container,
    mimeType: z.string(),
    width: positiveInt,
    height: positiveInt,
    fps: z.number().positive(),
    frameCount: positiveInt,
    bytes: positiveInt.describe('size of the uploaded file'),
    sha256: sha256Hex.describe('SHA-256 of the uploaded file, as the store checked it on upload'),
  })
  .strict()
  .describe('the output file, already uploaded to the request\'s target');

export const GenerateResponse = z
  .object({
    engine: EngineInfo,
    video: VideoFile,
    seconds: OutputSeconds,
  })
  .strict();
export type GenerateResponse = z.infer<typeof GenerateResponse>;

export const InterpolateRequest = z
  .object({
    video: VideoUrl,
    factor: z.number().int().min(2).max(8),
    adapterId: z.string().max(200).nullable().default(null),
    container: Container.default('mp4'),
    output: UploadTarget,
  })
  .strict();
export type InterpolateRequest = z.input<typeof InterpolateRequest>;
export const InterpolateResponse = GenerateResponse;

/** Largest audo chunk an assemble request carries or names, in bytes: the bitstream's maxAudioBytes plus its fixed fields. */
export const MAX_AUDIO_CHUNK_BYTES = 10 * 1024 * 1024 + 14;

/**
 * The sound an assembled file carries: `parts` decoded and joined in order give the timeline's samples from
 * `startSample` on (timeline: 48 kHz from the video's first frame); the file carries `window` of them.
 */
export const AssembleAudio = z
  .object({
    parts: z
      .array(
        z.union([
          z.object({ data: base64.describe('an audo chunk\'s data (docs/bitstream.md)') }).strict(),
          z.object({ source: KeyframeSource.extend({ length: positiveInt.max(MAX_AUDIO_CHUNK_BYTES) }).strict() }).strict().describe('an audo chunk\'s data, by URL and byte range'),
          z.object({ silence: positiveInt.describe('samples of silence (a segment without sound)') }).strict(),
        ]),
      )
      .min(1)
      .max(1000),
    startSample: nonNegativeInt.describe('the timeline sample where parts[0] begins'),
    window: z
      .object({ start: nonNegativeInt, end: positiveInt })
      .strict()
      .nullable()
      .default(null)
      .describe('timeline samples [start, end) the file carries, its first at the file\'s timeOffsetSeconds; null: all the parts give'),
    grid: z
      .boolean()
      .default(false)
      .describe('code AAC frames on the timeline\'s global 1024-sample grid, keeping those starting in the window: HLS segments then continue each other gaplessly'),
  })
  .strict()
  .describe('the bitstream\'s sound, coded as AAC-LC (48 kHz) beside the video');
export type AssembleAudio = z.input<typeof AssembleAudio>;

export const AssembleRequest = z
  .object({
    parts: z.array(VideoUrl).min(1).max(1000),
    container: z.enum(['mp4', 'webm', 'mpegts']).default('mp4').describe('mpegts: an HLS media segment'),
    timeOffsetSeconds: z.number().nonnegative().max(86_400).default(0).describe('added to every timestamp, so HLS segments continue each other'),
    audio: AssembleAudio.nullable().default(null).describe('the sound to carry (mp4 and mpegts only); null: none'),
    output: UploadTarget,
  })
  .strict()
  .describe('concatenate segment videos of one geometry without re-encoding (a remux), optionally into MPEG-TS, optionally with sound');
export type AssembleRequest = z.input<typeof AssembleRequest>;
export const AssembleResponse = z
  .object({
    engine: EngineInfo,
    video: VideoFile.extend({ container: z.enum(['mp4', 'webm', 'mpegts']) }),
    seconds: OutputSeconds,
  })
  .strict();

/** The Modal app's GPU classes (`gpu-functions/modal_app.py`), each loading its models once per container. */
export const GpuClass = z.enum(['Encoder', 'Generator', 'Bridge']);
export type GpuClass = z.infer<typeof GpuClass>;

/** What declares a GPU function. */
interface GpuFunctionSpec {
  request: z.ZodType;
  response: z.ZodType;
  /**
   * The Modal GPU classes whose calls the function's own (CPU) container makes and waits for: with
   * any, it is allowed a whole segment's time; with none, it runs on the CPU inside one call limit.
   */
  gpuClasses: readonly GpuClass[];
}

/**
 * Every GPU function, declared once. Its name, the Worker's client, the exported schemas
 * (`{name}.request.json`, `{name}.response.json`, the request carrying `x-cmvc-gpu-classes`), the
 * cost model, the CLI's Modal targets, and on the Python side the engines' dispatch, the metrics and
 * the Modal app's functions all derive from this table.
 */
export const GPU_FUNCTION_CONTRACT = {
  encode: { request: EncodeRequest, response: EncodeResponse, gpuClasses: ['Encoder'] },
  generate: { request: GenerateRequest, response: GenerateResponse, gpuClasses: ['Generator', 'Bridge'] },
  interpolate: { request: InterpolateRequest, response: InterpolateResponse, gpuClasses: [] },
  assemble: { request: AssembleRequest, response: AssembleResponse, gpuClasses: [] },
} as const satisfies Record<string, GpuFunctionSpec>;

export type GpuFunctionName = keyof typeof GPU_FUNCTION_CONTRACT;
export const GpuFunctionName = z.enum(Object.keys(GPU_FUNCTION_CONTRACT) as [GpuFunctionName, ...GpuFunctionName[]]);
/** The functions a GPU backend serves, in the contract's order. */
export const GPU_FUNCTIONS = GpuFunctionName.options;

/**
 * A function's name as a backend lists it in `/v1/info`: a name, not an enum of today's functions, so
 * a backend that serves a newer function still answers; each has `{name}.request.json` and
 * `{name}.response.json`, and a client calls only the functions of its own contract.
 */
export const ServedFunctionName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a function name: lowercase letters, digits, _');

export const ErrorCode = z.enum([
  'invalid_request',
  'undecodable_video',
  'unsupported_codec',
  'too_large',
  'too_long',
  'fetch_failed',
  'upload_failed',
  'not_found',
  'engine_failure',
  'overloaded',
]);
export type GpuErrorCode = z.infer<typeof ErrorCode>;

export const ErrorResponse = z
  .object({
    error: z
      .object({ code: ErrorCode, message: z.string(), details: z.unknown().optional() })
      .strict(),
  })
  .strict();

export const SubmitResponse = z.object({ callId: z.string().min(1).max(200) }).strict();

export const CallStatus = z.discriminatedUnion('status', [
  z.object({ status: z.literal('pending'), progress: z.number().min(0).max(1).nullable() }).strict(),
  z.object({ status: z.literal('succeeded'), result: z.unknown() }).strict(),
  z.object({ status: z.literal('failed'), error: ErrorResponse.shape.error }).strict(),
]);
export type CallStatus = z.infer<typeof CallStatus>;

export const InfoResponse = z
  .object({
    contractVersion: z.literal(CONTRACT_VERSION),
    engine: EngineInfo,
    functions: z.array(ServedFunctionName).describe('the functions this backend serves'),
    limits: z
      .object({
        maxUploadBytes: positiveInt,
        maxDurationSeconds: z.number().positive(),
        maxWidth: positiveInt,
        maxHeight: positiveInt,
        maxFrameCount: positiveInt,
      })
      .strict(),
  })
  .strict();
export type InfoResponse = z.infer<typeof InfoResponse>;

export const HealthResponse = z
  .object({ ok: z.boolean(), engine: EngineInfo, uptimeSeconds: z.number().nonnegative() })
  .strict();

/** The shapes exported to `schemas/gpu/` besides each function's request and response, by file name. */
export const SHARED_GPU_SCHEMAS = {
  'call.submit.response': SubmitResponse,
  'call.status': CallStatus,
  'info.response': InfoResponse,
  'health.response': HealthResponse,
  error: ErrorResponse,
} as const;
