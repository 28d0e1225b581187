-- What an Idempotency-Key was first used for: the upload's body digest, options and content type, so the same
-- key with another request is refused (422 idempotency_key_reused) instead of replaying the first video.
ALTER TABLE idempotency_keys ADD COLUMN fingerprint TEXT; -- JSON {bodySha256, options, contentType}; NULL: recorded before fingerprints (replayed as before)
