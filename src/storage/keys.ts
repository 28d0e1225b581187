/** R2 key layout; docs/storage.md describes each prefix with an example. */

export const sourceKey = (videoId: string) => `sources/${videoId}`;
export const bitstreamKey = (sha256: string) => `bitstreams/${sha256}.cmvc`;
export const artifactKey = (bitstreamSha256: string, artifactSha256: string, extension: string) =>
  `artifacts/${bitstreamSha256}/${artifactSha256}.${extension}`;
export const artifactPrefix = (bitstreamSha256: string) => `artifacts/${bitstreamSha256}/`;
