import { audioSummary, cutBitstream, type Bitstream } from '../bitstream';
import type { VideoRow } from './store';

/** What a video row records about its bitstream's rates beside its size: the texts-only floor and the sound. */
export function bitstreamRateFacts(bytes: Uint8Array, parsed: Bitstream): Pick<VideoRow, 'rate_floor_bytes' | 'audio'> {
  const audio = audioSummary(parsed.segments);
  return {
    // the floor of the video's own rate: every keyframe dropped, and no sound (targetKbps is the video's rate)
    rate_floor_bytes: cutBitstream(bytes, { profile: 'tt2v', audio: false }).byteLength,
    audio: audio === null ? null : JSON.stringify({ codec: audio.codec, channels: audio.channels, sampleRate: audio.sampleRate, bytes: audio.bytes }),
  };
}
