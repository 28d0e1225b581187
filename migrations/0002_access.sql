-- API keys (stored as SHA-256 hashes of their secrets, never the secrets) and daily usage per key.

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,                 -- 'key_' + 26 base32 chars; shown in listings and bound into signed URLs
  name TEXT NOT NULL,
  owner TEXT NOT NULL,                 -- whose videos this key sees; defaults to the key's own id
  secret_prefix TEXT NOT NULL,         -- the first 12 characters of the secret, to recognise a key in a list
  secret_hash TEXT NOT NULL UNIQUE,    -- hex SHA-256 of the whole secret
  scopes TEXT NOT NULL,                -- JSON array of 'encode' | 'read' | 'reconstruct' | 'admin'
  requests_per_minute INTEGER,         -- NULL: the default limit
  gpu_seconds_per_day REAL,            -- NULL: the default quota
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,                  -- NULL: never
  revoked_at INTEGER                   -- NULL: active
);

CREATE TABLE usage_daily (
  key_id TEXT NOT NULL,                -- an API key id, 'admin', or 'ip:<address>' for signed-URL viewers
  day TEXT NOT NULL,                   -- UTC date 'YYYY-MM-DD'
  requests INTEGER NOT NULL DEFAULT 0,
  bytes_served INTEGER NOT NULL DEFAULT 0,
  gpu_seconds REAL NOT NULL DEFAULT 0,
  generations INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, day)
);
