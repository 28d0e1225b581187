-- Bitstream v1.1 rate facts per video: the texts-only floor (bytes of the bitstream with every keyframe
-- dropped), so the video view reports rateFloorKbps beside the achieved rate and targetKbps.
ALTER TABLE videos ADD COLUMN rate_floor_bytes INTEGER; -- NULL: not ready (or recorded before this column)
