/** R2 key layout; docs/storage.md describes each prefix with an example. */

export const sourceKey = (videoId: string) => `sources/${videoId}`;
export const bitstreamKey = (sha256: string) => `bitstreams/${sha256}.cmvc`;
/** Everything a live video keeps while live: each chunk received and each chunk's coded segments. */
export const livePrefix = (videoId: string) => `live/${videoId}/`;
export const liveChunkKey = (videoId: string, n: number) => `live/${videoId}/chunks/${n}`;
export const liveCodedKey = (videoId: string, n: number) => `live/${videoId}/coded/${n}.cmvc`;
export const artifactKey = (bitstreamSha256: string, artifactSha256: string, extension: string) =>
  `artifacts/${bitstreamSha256}/${artifactSha256}.${extension}`;
export const artifactPrefix = (bitstreamSha256: string) => `artifacts/${bitstreamSha256}/`;
/** The R2 artifact key's own hash: `artifacts/{bitstreamSha256}/{artifactSha256}.{extension}` → artifactSha256. */
export const artifactHashOf = (r2Key: string) => r2Key.slice(r2Key.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '');

/** Cache API keys (per location): the full response of a ready artifact, and a bitstream's bytes. */
export const artifactCacheUrl = (artifactSha256: string) => `https://artifacts.cmvc.internal/${artifactSha256}`;
export const bitstreamCacheUrl = (bitstreamSha256: string) => `https://bitstreams.cmvc.internal/${bitstreamSha256}`;
/** What `artifactKey` makes, and nothing else: the only keys the artifact transfer route touches. */
/** A stored bitstream's R2 key: `bitstreams/{sha256}.cmvc`. */
export const BITSTREAM_KEY_PATTERN = /^bitstreams\/[0-9a-f]{64}\.cmvc$/;
export const ARTIFACT_KEY_PATTERN = /^artifacts\/[0-9a-f]{64}\/[0-9a-f]{64}\.(mp4|webm|ts)$/;
