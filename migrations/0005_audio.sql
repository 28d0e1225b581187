-- Bitstream v1.2 sound: the stream's audio facts per video (JSON {"codec","channels","sampleRate","bytes"}, bytes of
-- its audo chunks with framing; NULL: a silent stream, not ready, or recorded before this column), so the view
-- reports bitstream.audio and bitstream.videoKbps beside the total; and what an encode job did not do as asked
-- (JSON array of {"code","message"}, e.g. an audio stream that does not decode).
ALTER TABLE videos ADD COLUMN audio TEXT;
ALTER TABLE jobs ADD COLUMN warnings TEXT;
