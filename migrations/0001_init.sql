-- Videos, their encode jobs, upload idempotency and generated artifacts.
-- Times are Unix milliseconds. See docs/storage.md.

CREATE TABLE videos (
  id TEXT PRIMARY KEY,                 -- 'vid_' + 26 base32 chars
  owner TEXT NOT NULL,                 -- API key id that uploaded it ('admin' for the bootstrap key)
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  source_key TEXT,                     -- R2 key of the uploaded source; NULL once deleted
  source_bytes INTEGER NOT NULL,
  source_type TEXT NOT NULL,
  filename TEXT,
  keep_source INTEGER NOT NULL DEFAULT 0,
  options TEXT NOT NULL,               -- JSON: encode options as sent to the GPU function
  bitstream_key TEXT,                  -- R2 key 'bitstreams/<sha256>.cmvc'
  bitstream_hash TEXT,
  bitstream_bytes INTEGER,
  width INTEGER,
  height INTEGER,
  fps REAL,
  frame_count INTEGER,
  duration_seconds REAL,
  segment_count INTEGER,
  engine TEXT,                         -- 'id@version' of the encoding engine
  error_code TEXT,
  error_message TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX videos_owner_created ON videos (owner, created_at DESC);
CREATE INDEX videos_bitstream_hash ON videos (bitstream_hash);

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,                 -- 'job_' + 26 base32 chars
  video_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('encode')),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  progress REAL NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  gpu_call_id TEXT,
  error_code TEXT,
  error_message TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_video ON jobs (video_id);

CREATE TABLE idempotency_keys (
  owner TEXT NOT NULL,
  key TEXT NOT NULL,
  video_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
);

CREATE TABLE artifacts (
  key TEXT PRIMARY KEY,                -- sha256 hex of the artifact's canonical description
  bitstream_hash TEXT NOT NULL,
  r2_key TEXT NOT NULL,
  mode TEXT NOT NULL,
  segment INTEGER,                     -- NULL for the whole video
  options TEXT NOT NULL,               -- canonical query string
  bytes INTEGER NOT NULL,
  etag TEXT NOT NULL,
  gpu_seconds REAL NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX artifacts_bitstream ON artifacts (bitstream_hash);
