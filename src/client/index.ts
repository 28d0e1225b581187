/**
 * The CMVC Edge client for browsers and Node: fetch and parse a bitstream (the same code as the
 * Worker), read its segments, texts and poster at once, and build reconstruction and HLS URLs.
 * No Node-only imports: it bundles for the browser as is.
 */
import { readBitstream, type Bitstream, type SegmentData } from '../bitstream';
import type { Mode } from '../shared/modes';

export type { Bitstream, Mode, SegmentData };
export type UrlFormat = 'mp4' | 'hls' | 'bitstream';
export interface SignedUrl {
  mode: Mode;
  format: UrlFormat;
  segment: number | null;
  url: string;
}

export interface ReconstructionOptions {
  w?: number;
  h?: number;
  fps?: number;
  seed?: number;
  interp?: 1 | 2 | 4;
  /** IT2V only: reconstruct from the bitstream cut to at most this many kbps (keyframes dropped lowest priority first, then the sound). */
  maxKbps?: number;
  /** 0: a silent reconstruction; 1 (default): with the bitstream's sound. */
  audio?: 0 | 1;
}

export interface ClientConfig {
  /** Origin of the CMVC Edge API, e.g. `https://cmvc.example.com`. */
  baseUrl: string;
  /** An API key; omit when only signed URLs are used. */
  apiKey?: string;
  fetch?: typeof fetch;
}

export class CmvcClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CmvcClientError';
  }
}

export class CmvcClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly config: ClientConfig) {
    this.base = config.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = config.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Fetches a video's bitstream (optionally the smaller TT2V profile) and parses it. */
  async bitstream(videoId: string, profile: 'full' | 'tt2v' = 'full'): Promise<{ bytes: Uint8Array; bitstream: Bitstream }> {
    const response = await this.request(`/v1/videos/${encodeURIComponent(videoId)}/bitstream${profile === 'tt2v' ? '?profile=tt2v' : ''}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { bytes, bitstream: readBitstream(bytes) };
  }

  /** URL of a reconstruction: the whole video, or segment `segment`. */
  reconstructionUrl(videoId: string, mode: Mode, options: ReconstructionOptions = {}, segment?: number): string {
    const path = segment === undefined ? `/v/${videoId}/${mode}.mp4` : `/v/${videoId}/${mode}/${segment}.mp4`;
    return this.base + path + query(options);
  }

  /** URL of the HLS master playlist. */
  hlsUrl(videoId: string, mode: Mode, options: ReconstructionOptions = {}): string {
    return `${this.base}/v/${videoId}/${mode}.m3u8${query(options)}`;
  }

  /**
   * Signed URLs a player without a key can use, valid for `expiresIn` seconds: the MP4 and/or the
   * HLS playlist (whose URIs come signed too) of each mode.
   */
  async signedUrls(videoId: string, modes: Mode[], expiresIn: number, options: ReconstructionOptions = {}, formats: UrlFormat[] = ['mp4']): Promise<SignedUrl[]> {
    const response = await this.request(`/v1/videos/${encodeURIComponent(videoId)}/urls`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ modes, expiresIn, options, formats }),
    });
    return ((await response.json()) as { urls: SignedUrl[] }).urls;
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.config.apiKey) headers.set('Authorization', `Bearer ${this.config.apiKey}`);
    const response = await this.fetchImpl(this.base + path, { ...init, headers });
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      throw new CmvcClientError(response.status, body?.error?.code ?? `http_${response.status}`, body?.error?.message ?? `HTTP ${response.status}`);
    }
    return response;
  }
}

function query(options: ReconstructionOptions): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(options)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The poster (first keyframe) as a Blob, straight from the parsed bitstream; null for a TT2V-only stream. */
export function posterBlob(bitstream: Bitstream): Blob | null {
  const keyframe = bitstream.segments.find((s) => s.keyframes.length > 0)?.keyframes[0];
  if (!keyframe) return null;
  return new Blob([keyframe.data as Uint8Array<ArrayBuffer>], { type: `image/${keyframe.codec}` });
}

/** Caption cues (seconds) from the bitstream's texts, one per segment. */
export function captionCues(bitstream: Bitstream): { start: number; end: number; content: string; motion: string }[] {
  const fps = bitstream.header.fpsNum / bitstream.header.fpsDen;
  return bitstream.segments.map((s) => ({ start: s.startFrame / fps, end: (s.startFrame + s.frameCount) / fps, content: s.contentText, motion: s.motionText }));
}
