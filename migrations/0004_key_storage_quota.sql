-- A per-key storage quota: bytes the key's owner may store (sources not deleted yet plus bitstreams),
-- checked when the key uploads. Set by the admin when creating the key, like gpu_seconds_per_day.
ALTER TABLE api_keys ADD COLUMN storage_bytes INTEGER; -- NULL: STORAGE_BYTES_PER_OWNER
