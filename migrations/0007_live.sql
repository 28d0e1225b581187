-- Live videos (POST /v1/videos?live=true): the stream's state and its ingest token, and each chunk received.
-- While live, the video row stays 'running' (its view says "live") and its bitstream grows chunk by chunk.
-- See docs/storage.md and docs/live.md.
CREATE TABLE live_streams (
  video_id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,     -- hex SHA-256 of the ingest token (shown once, at the start)
  state TEXT NOT NULL CHECK (state IN ('live', 'ending', 'ended')),
  charge_to TEXT NOT NULL,             -- the key that started it: pays every chunk's encode
  newest_chunk INTEGER,                -- the highest chunk number received; NULL before the first
  next_append INTEGER NOT NULL DEFAULT 0, -- the next chunk to append to the bitstream, in order
  frames_coded INTEGER NOT NULL DEFAULT 0,
  segments_coded INTEGER NOT NULL DEFAULT 0,
  chunks_skipped INTEGER NOT NULL DEFAULT 0, -- chunks that never arrived or failed, passed over in order
  writer TEXT,                         -- the last append's id: appends are optimistic (see src/live/append.ts)
  end_reason TEXT,                     -- 'ended' (POST …/live/end) or 'idle' (LIVE_IDLE_SECONDS without a chunk)
  last_chunk_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ended_at INTEGER
);

CREATE TABLE live_chunks (
  video_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  sha256 TEXT NOT NULL,                -- of the bytes received: the same bytes again are 200, others 409
  bytes INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('received', 'coding', 'coded', 'failed', 'appended', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  gpu_call_id TEXT,
  first_segment INTEGER,               -- once appended: its first segment in the bitstream
  segment_count INTEGER,
  width INTEGER,                       -- the geometry it was recorded at, once coded
  height INTEGER,
  error_code TEXT,
  error_message TEXT,
  received_at INTEGER NOT NULL,
  started_at INTEGER,
  coded_at INTEGER,
  PRIMARY KEY (video_id, n)
);
CREATE INDEX live_chunks_status ON live_chunks (status, received_at);

-- The R2 root of a video's artifacts when it is not its bitstream's hash: a live video's bitstream changes with
-- every chunk, so its artifacts live under a root fixed when it starts (NULL: the bitstream's hash).
ALTER TABLE videos ADD COLUMN artifact_root TEXT;
