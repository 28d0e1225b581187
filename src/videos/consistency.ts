/**
 * An audit of storage against D1: nothing lost (every succeeded video has its bitstream in R2) and
 * nothing orphaned (every source, bitstream and artifact in R2 belongs to a live video).
 */
export async function checkConsistency(env: Env) {
  const { results: videos } = await env.DB.prepare('SELECT id, status, source_key, bitstream_key, bitstream_hash FROM videos').all<{
    id: string;
    status: string;
    source_key: string | null;
    bitstream_key: string | null;
    bitstream_hash: string | null;
  }>();
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ cursor, limit: 1000 });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const stored = new Set(keys);
  const liveSources = new Set(videos.map((v) => v.source_key).filter((k): k is string => k !== null));
  const liveBitstreams = new Set(videos.map((v) => v.bitstream_key).filter((k): k is string => k !== null));
  const liveHashes = new Set(videos.map((v) => v.bitstream_hash).filter((k): k is string => k !== null));
  const lost = videos.filter((v) => v.status === 'succeeded' && (v.bitstream_key === null || !stored.has(v.bitstream_key))).map((v) => v.id);
  // A queued or running video's source must be there to be encoded.
  const lostSources = videos.filter((v) => (v.status === 'queued' || v.status === 'running') && (v.source_key === null || !stored.has(v.source_key))).map((v) => v.id);
  const orphaned = keys.filter((key) => {
    if (key.startsWith('sources/')) return !liveSources.has(key);
    if (key.startsWith('bitstreams/')) return !liveBitstreams.has(key);
    if (key.startsWith('artifacts/')) return !liveHashes.has(key.split('/')[1] as string);
    return true;
  });
  return {
    ok: lost.length === 0 && lostSources.length === 0 && orphaned.length === 0,
    videos: videos.length,
    objects: keys.length,
    lostBitstreams: lost,
    lostSources,
    orphanedObjects: orphaned,
  };
}
