import { z } from 'zod';
import { AUDIO_KBPS_RANGE, EncodeOptions } from '../gpu/contract';
import { badRequest } from '../http/errors';

/**
 * The media types an upload's raw body is documented with: the containers the sniffer recognises (uploads/sniff.ts),
 * and bytes of no stated type. Any other `video/*` is taken too: the bytes say what the file is.
 */
export const UPLOAD_MEDIA_TYPES = [
  'video/mp4',
  'video/quicktime',
  'video/3gpp',
  'video/webm',
  'video/x-matroska',
  'video/x-msvideo',
  'video/mp2t',
  'video/mpeg',
  'video/x-flv',
  'video/ogg',
  'application/octet-stream',
] as const;

/** Query parameters of `POST /v1/videos`: the GPU encode options plus what the edge itself keeps. */
export const UploadQuery = EncodeOptions.extend({
  keepSource: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  filename: z.string().max(255).optional(),
})
  .partial({ filename: true })
  .strict();

const NUMERIC = new Set(['minSegmentSeconds', 'maxSegmentSeconds', 'keyframeBudgetBytes', 'keyframeMaxWidth', 'maxTextChars', 'targetKbps', 'audioKbps', 'audioStream', 'frameRate']);

/** Parses upload options from query parameters; an unknown or out-of-range option is a 400 naming it. */
export function parseUploadQuery(params: URLSearchParams) {
  const raw: Record<string, unknown> = {};
  for (const [name, value] of params) {
    if (name in raw) throw badRequest('invalid_option', `option "${name}" is given twice`, { option: name });
    raw[name] = NUMERIC.has(name) && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  // One rate knob or one keyframe budget: the encoder sizes keyframes from targetKbps itself.
  if ('targetKbps' in raw && 'keyframeBudgetBytes' in raw) {
    throw badRequest('invalid_option', 'option "targetKbps" and option "keyframeBudgetBytes" exclude each other: give one or the other', { option: 'targetKbps' });
  }
  const audioKbps = raw.audioKbps;
  if (audioKbps !== undefined && !(audioKbps === 0 || (Number.isInteger(audioKbps) && (audioKbps as number) >= AUDIO_KBPS_RANGE.min && (audioKbps as number) <= AUDIO_KBPS_RANGE.max))) {
    throw badRequest('invalid_option', `option "audioKbps" must be 0 (no sound) or an integer in ${AUDIO_KBPS_RANGE.min}..${AUDIO_KBPS_RANGE.max}, got ${String(audioKbps)}`, { option: 'audioKbps' });
  }
  const parsed = UploadQuery.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path[0];
    throw badRequest('invalid_option', `option "${String(option)}": ${issue?.message ?? 'invalid'}`, { option });
  }
  const { keepSource, filename, ...encode } = parsed.data;
  if (encode.minSegmentSeconds > encode.maxSegmentSeconds) {
    throw badRequest('invalid_option', 'option "minSegmentSeconds" must not exceed "maxSegmentSeconds"', { option: 'minSegmentSeconds' });
  }
  return { keepSource, filename: filename ?? null, encode };
}
