import type { RatePlan } from '../bitstream';
import type { Mode } from '../shared/modes';
import { artifactKey } from './keys';
import { canonicalOptions, type ReconstructionOptions } from '../shared/reconstruction-options';

/** What names an artifact: the bitstream, the mode, the canonical options, the engine and any rate cut. */
export interface ArtifactSource {
  /** The whole stream's identity: what a whole-video artifact is made of. */
  bitstreamHash: string;
  /**
   * Where R2 keeps the video's artifacts and what its segments' artifacts are named by: for a video started live, a
   * root fixed at its start, so that a segment made while the stream grows (and its bitstream's hash changes with
   * every chunk) is the same artifact afterwards — a live stream only appends, so a segment never changes once in it.
   * Absent: the bitstream's hash.
   */
  artifactRoot?: string;
  mode: Mode;
  options: ReconstructionOptions;
  /** `id@version` of the generating engine; part of every key so a new engine never serves old artifacts. */
  engine: string;
  /** The keyframes `options.maxKbps` dropped; null or absent: none. */
  rateCut?: RatePlan | null;
  /** Whether the artifact carries the bitstream's sound (only an assembled one can); absent: it does not. */
  audio?: boolean;
}

export interface ArtifactId {
  /** sha256 hex of the artifact's canonical description: its identity and cache key. */
  key: string;
  /** Where R2 keeps it: `artifacts/{artifactRoot or bitstreamSha256}/{key}.{extension}`. */
  r2Key: string;
}

const encoder = new TextEncoder();
async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The key and R2 key of artifact `kind` (`generate`, `interpolate`, `assemble`, `hls-ts`) of a segment or the whole video. */
export async function artifactId(source: ArtifactSource, segment: number | 'all', kind: string, extension: string): Promise<ArtifactId> {
  const key = await sha256Hex(describe(source, segment, kind));
  return { key, r2Key: artifactKey(source.artifactRoot ?? source.bitstreamHash, key, extension) };
}

/**
 * The canonical description an artifact key hashes. A rate cut enters as what it keeps, and only where it
 * changed something: a segment whose keyframes all survive keys as if no maxKbps were given. Sound enters only
 * where the artifact carries it, so a silent artifact keys as it did before bitstreams had sound.
 */
function describe(source: ArtifactSource, segment: number | 'all', kind: string) {
  const name = segment === 'all' ? source.bitstreamHash : (source.artifactRoot ?? source.bitstreamHash);
  const parts = ['cmvc-artifact-v1', name, segment, source.mode, kind, canonicalOptions(source.options), source.engine];
  const cut = source.rateCut;
  if (cut) {
    if (segment === 'all') parts.push(`keyframes-dropped=${cut.dropped}`);
    else if ((cut.droppedPerSegment[segment] ?? 0) > 0) parts.push(`keyframes=${(cut.kept[segment] ?? []).join('.')}`);
  }
  if (source.audio) parts.push('audio=aac');
  return parts.join('|');
}
