/** R2 key layout; docs/storage.md describes each prefix with an example. */

export const sourceKey = (videoId: string) => `sources/${videoId}`;
export const bitstreamKey = (sha256: string) => `bitstreams/${sha256}.cmvc`;
export const artifactKey = (bitstreamSha256: string, artifactSha256: string, extension: string) =>
  `artifacts/${bitstreamSha256}/${artifactSha256}.${extension}`;
export const artifactPrefix = (bitstreamSha256: string) => `artifacts/${bitstreamSha256}/`;
/** What `artifactKey` makes, and nothing else: the only keys the artifact transfer route touches. */
export const ARTIFACT_KEY_PATTERN = /^artifacts\/[0-9a-f]{64}\/[0-9a-f]{64}\.(mp4|webm|ts)$/;
