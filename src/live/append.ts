/**
 * Growing a live video's bitstream: the chunks coded so far are appended in chunk order, each chunk's coded segments
 * after the last. Appends are optimistic, so chunks coded at once by several consumers never lose one another: each
 * append reads the stream's position (`next_append`, `writer`), writes the grown bitstream (content-addressed), and
 * commits only if the position is still what it read; otherwise it reads again and retries.
 */
import { appendBitstream, BitstreamError, readBitstream, sha256Hex } from '../bitstream';
import { bitstreamKey, liveChunkKey, liveCodedKey } from '../cache/keys';
import { bitstreamRateFacts } from '../videos/bitstream-facts';
import { getVideo, type VideoRow } from '../videos/store';
import { LIVE_REORDER_WINDOW } from './limits';
import { chunksFrom, getLive, updateChunk, type ChunkRow, type LiveRow } from './store';
import { addWarnings, finishIfSettled, type LiveWarning } from './finish';

/** Appends tried before giving up to a later trigger (each chunk coded and each end tries again). */
const MAX_APPEND_TRIES = 8;

/** The chunks an append takes now, in order, and those it passes over. */
interface AppendPlan {
  take: ChunkRow[];
  /** Chunk numbers passed over: failed, or never received while the newest ran past the reorder window (or the stream ended). */
  skip: { n: number; chunk: ChunkRow | null }[];
  next: number;
}

/** What can be appended from `next_append` on: coded chunks in order, passing over failed and long-missing ones. */
export function planAppend(live: Pick<LiveRow, 'next_append' | 'newest_chunk' | 'state'>, chunks: readonly ChunkRow[]): AppendPlan {
  const byN = new Map(chunks.map((c) => [c.n, c]));
  const newest = live.newest_chunk ?? -1;
  const plan: AppendPlan = { take: [], skip: [], next: live.next_append };
  for (let m = live.next_append; m <= newest; m++) {
    const chunk = byN.get(m) ?? null;
    if (chunk?.status === 'coded') plan.take.push(chunk);
    else if (chunk?.status === 'failed') plan.skip.push({ n: m, chunk });
    else if (chunk === null && (live.state !== 'live' || newest - m > LIVE_REORDER_WINDOW)) plan.skip.push({ n: m, chunk: null });
    else break; // received or coding: nothing received is passed over; or missing, and it may still come
    plan.next = m + 1;
  }
  return plan;
}

/** Appends every chunk that can be appended now (see planAppend), then ends the stream if it was ending and is settled. */
export async function appendReady(env: Env, videoId: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_APPEND_TRIES; attempt++) {
    const [live, video] = await Promise.all([getLive(env.DB, videoId), getVideo(env.DB, videoId)]);
    if (live === null || video === null || live.state === 'ended') return;
    const plan = planAppend(live, await chunksFrom(env.DB, videoId, live.next_append));
    if (plan.next === live.next_append) break;
    if (await commit(env, video, live, plan)) break;
  }
  await finishIfSettled(env, videoId);
}

/** Writes the grown bitstream and commits it with the chunks' new states; false when another append committed first. */
async function commit(env: Env, video: VideoRow, live: LiveRow, plan: AppendPlan): Promise<boolean> {
  const previous = video.bitstream_key === null ? null : await env.BUCKET.get(video.bitstream_key);
  let bytes: Uint8Array | null = previous === null ? null : new Uint8Array(await previous.arrayBuffer());
  const warnings: LiveWarning[] = [];
  const appended: { chunk: ChunkRow; first: number; count: number }[] = [];
  let segments = live.segments_coded;
  for (const chunk of plan.take) {
    const coded = await env.BUCKET.get(liveCodedKey(video.id, chunk.n));
    try {
      if (coded === null) throw new BitstreamError('invalid_content', 'its coded segments are no longer stored');
      const next = new Uint8Array(await coded.arrayBuffer());
      const grown = appendBitstream(bytes, next);
      const count = readBitstream(next).segments.length;
      appended.push({ chunk, first: segments, count });
      segments += count;
      if (bytes !== null && video.width !== null && (chunk.width !== video.width || chunk.height !== video.height)) {
        warnings.push({ code: 'chunk_geometry_changed', message: `chunk ${chunk.n} is ${chunk.width}x${chunk.height}; the stream is ${video.width}x${video.height}, at which it is shown` });
      }
      bytes = grown;
    } catch (err) {
      if (!(err instanceof BitstreamError)) throw err;
      // a chunk that cannot join the stream (another frame rate or engine) is passed over like one that failed
      await updateChunk(env.DB, video.id, chunk.n, { status: 'failed', error_code: 'chunk_incompatible', error_message: err.message });
      plan.skip.push({ n: chunk.n, chunk: { ...chunk, error_code: 'chunk_incompatible', error_message: err.message } });
    }
  }
  for (const { n, chunk } of plan.skip) {
    warnings.push(
      chunk === null
        ? { code: 'chunk_missing', message: `chunk ${n} never arrived; the stream goes on from chunk ${n + 1}` }
        : { code: 'chunk_failed', message: `chunk ${n} could not be coded (${chunk.error_code}: ${chunk.error_message ?? ''}); the stream goes on without it` },
    );
  }
  const now = Date.now();
  const writer = crypto.randomUUID();
  const grown = bytes !== null && appended.length > 0 ? await describeGrown(bytes) : null;
  const statements: D1PreparedStatement[] = [
    env.DB.prepare(
      `UPDATE live_streams SET writer = ?, next_append = ?, segments_coded = ?, frames_coded = ?, chunks_skipped = chunks_skipped + ?, updated_at = ?
        WHERE video_id = ? AND next_append = ? AND writer IS ?`,
    ).bind(writer, plan.next, segments, grown?.parsed.header.frameCount ?? live.frames_coded, plan.skip.length, now, video.id, live.next_append, live.writer),
  ];
  const committed = `EXISTS (SELECT 1 FROM live_streams WHERE video_id = ? AND writer = ?)`;
  const hash = grown?.hash ?? null;
  if (grown !== null && bytes !== null) {
    const key = bitstreamKey(grown.hash);
    if ((await env.BUCKET.head(key)) === null) await env.BUCKET.put(key, bytes, { httpMetadata: { contentType: 'application/vnd.cmvc' }, sha256: grown.hash });
    const facts = bitstreamRateFacts(bytes, grown.parsed);
    const h = grown.parsed.header;
    statements.push(
      env.DB.prepare(
        `UPDATE videos SET bitstream_key = ?, bitstream_hash = ?, bitstream_bytes = ?, rate_floor_bytes = ?, audio = ?, width = ?, height = ?, fps = ?, frame_count = ?,
                duration_seconds = ?, segment_count = ?, engine = ?, updated_at = ? WHERE id = ? AND ${committed}`,
      ).bind(key, grown.hash, bytes.byteLength, facts.rate_floor_bytes, facts.audio, h.width, h.height, h.fpsNum / h.fpsDen, h.frameCount, (h.frameCount * h.fpsDen) / h.fpsNum, grown.parsed.segments.length, `${h.engineId}@${h.engineVersion}`, now, video.id, video.id, writer),
    );
  }
  for (const { chunk, first, count } of appended) {
    statements.push(env.DB.prepare(`UPDATE live_chunks SET status = 'appended', first_segment = ?, segment_count = ? WHERE video_id = ? AND n = ? AND ${committed}`).bind(first, count, video.id, chunk.n, video.id, writer));
  }
  const [won] = await env.DB.batch(statements);
  if ((won?.meta.changes ?? 0) === 0) {
    // another append moved the stream first: what this one wrote is garbage unless it is what the stream is now
    if (hash !== null && hash !== video.bitstream_hash && (await getVideo(env.DB, video.id))?.bitstream_hash !== hash) await env.BUCKET.delete(bitstreamKey(hash));
    return false;
  }
  await addWarnings(env, video.id, warnings);
  const done = [...appended.map(({ chunk }) => chunk.n), ...plan.skip.filter(({ chunk }) => chunk !== null).map(({ n }) => n)];
  const garbage = done.flatMap((n) => [liveCodedKey(video.id, n), ...(video.keep_source === 1 ? [] : [liveChunkKey(video.id, n)])]);
  if (video.bitstream_key !== null && video.bitstream_hash !== hash) {
    const shared = await env.DB.prepare('SELECT 1 FROM videos WHERE bitstream_hash = ? LIMIT 1').bind(video.bitstream_hash).first();
    if (!shared) garbage.push(video.bitstream_key);
  }
  if (garbage.length > 0) await env.BUCKET.delete(garbage);
  return true;
}

async function describeGrown(bytes: Uint8Array) {
  return { hash: await sha256Hex(bytes), parsed: readBitstream(bytes) };
}
