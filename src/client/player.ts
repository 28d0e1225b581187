/**
 * A player helper for low-bandwidth pages: shows the poster and captions from the bitstream at once
 * (a few kilobytes), then plays the reconstruction — the HLS stream where the browser plays HLS
 * natively (Safari, current Chrome), segment by segment as they are generated, else the MP4 — from
 * signed URLs, so the page itself never holds a long-lived key in a URL.
 */
import { BitstreamPlayer } from './bitstream-player';
import { decodesKeyframes } from './decode';
import { decodeImageBrowser } from './decode-image-browser';
import { captionCues, type CmvcClient, posterBlob, type Mode } from './index';

export interface PlayerOptions {
  client: CmvcClient;
  videoId: string;
  mode: Mode;
  /** Lifetime of the signed URLs the player asks for, in seconds. */
  expiresIn?: number;
  /** Play the HLS playlist where the browser plays HLS natively (default true); false: always the MP4. */
  preferHls?: boolean;
  /**
   * `bitstream`: no reconstruction at all — a canvas takes the video element's place and plays the video
   * decoded on this device from the bitstream alone (segments fetched by Range as playback reaches them).
   */
  prefer?: 'reconstruction' | 'bitstream';
}

export interface PlayerInfo {
  bitstreamBytes: number;
  segments: number;
  source: 'hls' | 'mp4' | 'bitstream';
  /** With `prefer: 'bitstream'`: the player (play, pause, seek, bytesReceived). */
  player?: BitstreamPlayer;
}

/** Fills `video` with the poster and a captions track straight away, then its source. */
export async function attachPlayer(video: HTMLVideoElement, options: PlayerOptions): Promise<PlayerInfo> {
  const { client, videoId, mode } = options;
  if (options.prefer === 'bitstream') return attachBitstreamPlayer(video, options);
  const { bytes, bitstream } = await client.bitstream(videoId, decodesKeyframes(mode) ? 'full' : 'tt2v');
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

/**
 * The bitstream source: a canvas (WebGL2 where present) with a play/pause button, a seek bar and the
 * segment's texts as captions in place of `video`; a decode error stops playback and is shown, never a
 * blank canvas that claims to play.
 */
async function attachBitstreamPlayer(video: HTMLVideoElement, options: PlayerOptions): Promise<PlayerInfo> {
  const [signed] = await options.client.signedUrls(options.videoId, [options.mode], options.expiresIn ?? 3600, {}, ['bitstream']);
  if (!signed) throw new Error('no signed URL was minted');
  const box = document.createElement('div');
  box.className = 'cmvc-bitstream-player';
  box.id = video.id;
  const canvas = document.createElement('canvas');
  canvas.style.maxWidth = '100%';
  const captions = document.createElement('p');
  captions.className = 'cmvc-captions';
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.textContent = 'Play';
  const seek = document.createElement('input');
  seek.type = 'range';
  seek.min = '0';
  seek.step = '0.01';
  seek.setAttribute('aria-label', 'position (seconds)');
  const status = document.createElement('p');
  status.className = 'cmvc-status';
  status.setAttribute('role', 'status');
  box.append(canvas, captions, toggle, seek, status);
  video.replaceWith(box);

  const player = new BitstreamPlayer(canvas, {
    url: signed.url,
    decodeImage: decodeImageBrowser,
    onFrame: (seconds, segment) => {
      seek.value = String(seconds);
      captions.textContent = `${segment.contentText}\n${segment.motionText}`;
      status.textContent = `${player.renderer.kind} · ${player.bytesReceived} bytes received · ${seconds.toFixed(2)} s`;
      box.dataset.time = seconds.toFixed(3);
    },
    onEnded: () => {
      toggle.textContent = 'Play';
    },
    onError: (error) => {
      toggle.disabled = true;
      box.dataset.error = (error as { code?: string }).code ?? 'error';
      status.setAttribute('role', 'alert');
      status.textContent = `cannot play: ${error.message}`;
    },
  });
  const index = await player.open();
  seek.max = String(player.duration);
  toggle.addEventListener('click', () => {
    if (player.paused) player.play();
    else player.pause();
    toggle.textContent = player.paused ? 'Play' : 'Pause';
  });
  seek.addEventListener('input', () => void player.seek(Number(seek.value)).catch(() => {}));
  return { bitstreamBytes: index.totalBytes, segments: index.segments.length, source: 'bitstream', player };
}
