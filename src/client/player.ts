/**
 * A player helper for low-bandwidth pages: shows the poster and captions from the bitstream at once
 * (a few kilobytes), then plays the reconstruction — the MP4 by default, HLS when asked and the browser
 * plays it natively — from signed URLs, so the page itself never holds a long-lived key in a URL.
 */
import { captionCues, CmvcClient, posterBlob, type Mode } from './index';

export interface PlayerOptions {
  client: CmvcClient;
  videoId: string;
  mode: Mode;
  /** Lifetime of the signed URLs the player asks for, in seconds. */
  expiresIn?: number;
  /**
   * Play the HLS playlist where the browser claims native HLS. Off by default: Safari plays our
   * MPEG-TS segments, but Chromium's native HLS (fMP4 only) reports a demuxer error on them.
   */
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

  const [signed] = await client.signedUrls(videoId, [mode], options.expiresIn ?? 3600);
  if (!signed) throw new Error('no signed URL was minted');
  const hls = options.preferHls === true && video.canPlayType('application/vnd.apple.mpegurl') !== '';
  video.src = hls ? signed.url.replace(/\.mp4\?/, '.m3u8?') : signed.url;
  return { bitstreamBytes: bytes.byteLength, segments: bitstream.segments.length, source: hls ? 'hls' : 'mp4' };
}
