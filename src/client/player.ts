/**
 * A player helper for low-bandwidth pages: shows the poster and captions from the bitstream at once
 * (a few kilobytes), then plays the reconstruction — the HLS stream where the browser plays HLS
 * natively (Safari, current Chrome), segment by segment as they are generated, else the MP4 — from
 * signed URLs, so the page itself never holds a long-lived key in a URL.
 */
import { captionCues, CmvcClient, posterBlob, type Mode } from './index';

export interface PlayerOptions {
  client: CmvcClient;
  videoId: string;
  mode: Mode;
  /** Lifetime of the signed URLs the player asks for, in seconds. */
  expiresIn?: number;
  /** Play the HLS playlist where the browser plays HLS natively (default true); false: always the MP4. */
  preferHls?: boolean;
}

export interface PlayerInfo {
  bitstreamBytes: number;
  segments: number;
  source: 'hls' | 'mp4';
}

/** Fills `video` with the poster and a captions track straight away, then its source. */
export async function attachPlayer(video: HTMLVideoElement, options: PlayerOptions): Promise<PlayerInfo> {
  const { client, videoId, mode } = options;
  const { bytes, bitstream } = await client.bitstream(videoId, mode === 'tt2v' ? 'tt2v' : 'full');
  const poster = posterBlob(bitstream);
  if (poster) video.poster = URL.createObjectURL(poster);
  const track = video.addTextTrack('captions', 'Description', 'en');
  for (const cue of captionCues(bitstream)) track.addCue(new VTTCue(cue.start, cue.end, `${cue.content}\n${cue.motion}`));
  track.mode = 'showing';

  const hls = options.preferHls !== false && video.canPlayType('application/vnd.apple.mpegurl') !== '';
  const [signed] = await client.signedUrls(videoId, [mode], options.expiresIn ?? 3600, {}, [hls ? 'hls' : 'mp4']);
  if (!signed) throw new Error('no signed URL was minted');
  video.src = signed.url;
  return { bitstreamBytes: bytes.byteLength, segments: bitstream.segments.length, source: hls ? 'hls' : 'mp4' };
}
