/** The limits and timings of live ingest, stated once (docs/live.md explains each). */

/** The chunk media a broadcaster may send: each chunk a self-contained file of about two seconds. */
export const LIVE_CHUNK_TYPES = ['video/webm', 'video/mp4', 'video/mp2t'] as const;
export type LiveChunkType = (typeof LIVE_CHUNK_TYPES)[number];
/** Largest chunk, in bytes: 8 MiB is 32 Mbit/s for two seconds, and travels inline to the GPU encode. */
export const LIVE_CHUNK_MAX_BYTES = 8 * 1024 * 1024;
/** Highest chunk number: a day of two-second chunks. */
export const LIVE_MAX_CHUNKS = 43_200;
/**
 * Chunks may arrive out of order within this many of the newest: a chunk more than this behind the newest is
 * refused (409 `chunk_too_late`), and a missing chunk is waited for until the newest is this far past it, then
 * passed over (the stream's timeline closes over it).
 */
export const LIVE_REORDER_WINDOW = 3;
/** How far ahead of the next chunk to append a chunk number may run (409 `chunk_too_far_ahead` beyond). */
export const LIVE_MAX_AHEAD = 30;
/**
 * Frame rates a live video may be coded at: those whose frames are a whole number of 48-kHz audio samples, so each
 * chunk's sound joins the next without being cut again (a frame of 25 fps is 1920 samples).
 */
export const LIVE_FRAME_RATES = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 16, 20, 24, 25, 30, 32, 40, 48, 50, 60] as const;
/** The frame rate of a live video unless `frameRate` says otherwise. */
export const LIVE_DEFAULT_FRAME_RATE = 25;
/** A chunk whose owner already had its turn steps back at most this many times (one second each): live must stay near real time. */
export const LIVE_MAX_STEP_BACKS = 3;
export const LIVE_STEP_BACK_DELAY_SECONDS = 1;
/** Longest wait (`Prefer: wait=N`) for the next segment of a live video to be coded, in seconds. */
export const LIVE_MAX_WAIT_SECONDS = 20;
/** Cache lifetime of what changes while a video is live (its bitstream, index and playlists), in seconds. */
export const LIVE_CACHE_SECONDS = 1;
