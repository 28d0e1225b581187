"""Sound: the source's audio coded once as Opus, per segment (encode), and decoded back, joined and coded as
AAC-LC for the reconstructions (assemble). Both engines use this module.

Timing is exact: a video of ``fps_num / fps_den`` frames per second puts frame ``f`` at audio sample
``floor(f × 48000 × fps_den / fps_num)`` (``sample_at``); a segment's audio is the samples from its first frame
to the frame after its last, so segments tile the audio with no gap and no overlap, and decoding any segment
alone gives exactly its samples (the bitstream's ``audo`` chunk: docs/bitstream.md).

Units: samples are per channel at ``SAMPLE_RATE`` unless said otherwise; rates in kilobits per second; PCM is
``float32`` of shape ``(channels, samples)`` in [-1, 1].
"""

from __future__ import annotations

import base64
import io
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import av
import numpy as np

from ..errors import ContractError

log = logging.getLogger("cmvc_gpu")

#: The sample rate every coded sound runs at (Opus decodes at 48 kHz; AAC output keeps it).
SAMPLE_RATE = 48_000
#: Opus frame: 20 ms, the codec's default and its best trade of overhead against delay.
OPUS_FRAME_SAMPLES = 960
#: Real audio before a segment that its encode starts with (then skips), so the segment's first samples are
#: coded with history, as in one continuous encode (measured: ``tests/test_audio.py``, boundary error).
PREROLL_SAMPLES = 960
#: Real audio after a segment fed to its encode, so its last packet is coded from the signal, not from padding.
POSTROLL_SAMPLES = 960
#: At and above this rate the sound stays stereo (when the source is); below it, it is downmixed to mono.
STEREO_MIN_KBPS = 32
#: Audio that ends this much (seconds) before the video ends is reported as short.
SHORT_AUDIO_SECONDS = 0.5
#: AAC-LC rate of the reconstructions per channel (kbps): transparent enough for Opus at up to 128 kbps.
AAC_KBPS_PER_CHANNEL = 64
#: AAC frame: 1024 samples.
AAC_FRAME_SAMPLES = 1024
#: Whole AAC frames coded before an HLS segment's first frame (and dropped), so that frame is coded with history.
AAC_PREROLL_FRAMES = 2
#: The Opus codec as the bitstream's audo chunk names it (codec byte 1).
OPUS_CODEC_ID = 1


def fps_fraction(fps: float) -> Fraction:
    """The frame rate as the bitstream header stores it (``fpsToRational`` in ``src/jobs/bitstream-from-encode.ts``,
    mirrored exactly: integers stay integers, NTSC rates become n·1000/1001, others n/1000)."""
    if abs(fps - math.floor(fps + 0.5)) < 1e-6:
        return Fraction(math.floor(fps + 0.5), 1)
    ntsc = fps * 1.001
    if abs(ntsc - math.floor(ntsc + 0.5)) < 1e-3:
        return Fraction(math.floor(ntsc + 0.5) * 1000, 1001)
    return Fraction(math.floor(fps * 1000 + 0.5), 1000)


def sample_at(frame: int, fps: Fraction, rate: int = SAMPLE_RATE) -> int:
    """The audio sample where video frame ``frame`` begins: ``floor(frame × rate / fps)``, exact."""
    return (frame * rate * fps.denominator) // fps.numerator


@dataclass
class SourceAudio:
    """A source's sound on the video's timeline: ``pcm`` starts at the first video frame and lasts exactly the
    video (silence where the source has none); ``channels`` / ``sample_rate`` describe the source stream."""

    pcm: np.ndarray
    channels: int
    sample_rate: int
    codec: str
    #: Seconds of the video the source's audio actually covers.
    covered_seconds: float


def warning(code: str, message: str) -> dict:
    """A contract ``EncodeWarning``."""
    return {"code": code, "message": message}


def read_source_audio(data: bytes, total_samples: int, out_channels_max: int, stream_index: Optional[int] = None) -> tuple[Optional[SourceAudio], list[dict]]:
    """The audio stream ``stream_index`` (default: the first) of the file ``data``, resampled to ``SAMPLE_RATE``,
    downmixed to at most ``out_channels_max`` channels and laid on the video's timeline (sample 0 = the first
    video frame) over ``total_samples``. ``(None, [])`` without an audio stream; ``(None, [warning])`` for a
    stream that is named but missing or of which nothing decodes; packets that do not decode become silence of
    their duration (said in a warning), as does time the stream does not cover."""
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, OSError):
        return None, []  # the video reader reports an unreadable file
    with container:
        streams = list(container.streams.audio)
        if stream_index is not None and stream_index >= len(streams):
            have = f"{len(streams)} audio stream(s), 0–{len(streams) - 1}" if streams else "no audio"
            return None, [warning("audio_stream_missing", f"options.audioStream={stream_index} names no stream: the file has {have}; the video is encoded without sound")]
        if not streams:
            return None, []
        stream = streams[stream_index or 0]
        ctx = stream.codec_context
        codec = ctx.name if ctx is not None else "unknown"
        if ctx is None or not ctx.channels or not ctx.sample_rate:
            return None, [warning("audio_undecodable", f"the audio stream ({codec}) has no decoder here or states no channels or rate; the video is encoded without sound")]
        source_channels, source_rate = ctx.channels, ctx.sample_rate
        out_channels = min(out_channels_max, source_channels)
        video_start = _video_start_seconds(container)
        pcm = np.zeros((out_channels, total_samples), dtype=np.float32)
        resampler = av.AudioResampler(format="fltp", layout="mono" if out_channels == 1 else "stereo", rate=SAMPLE_RATE)
        position: Optional[int] = None  # where the next resampled sample lands on the video's timeline
        expected: Optional[float] = None  # source seconds where the next decoded frame should start
        end = 0
        frames = failed = 0

        def place(chunk: np.ndarray) -> None:
            nonlocal position, end
            assert position is not None
            start, stop = max(0, position), min(total_samples, position + chunk.shape[1])
            if stop > start:
                pcm[:, start:stop] = chunk[:, start - position : stop - position]
                end = max(end, stop)
            position += chunk.shape[1]

        def feed(frame: "av.AudioFrame") -> None:
            for out in resampler.resample(frame):
                place(out.to_ndarray())

        for packet in container.demux(stream):
            if position is not None and position >= total_samples + SAMPLE_RATE:
                break
            try:
                decoded = ctx.decode(packet)
            except av.FFmpegError:
                failed += 1
                continue
            for frame in decoded:
                at = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base is not None else expected
                if position is None:
                    position = round(((at if at is not None else video_start) - video_start) * SAMPLE_RATE)
                elif at is not None and expected is not None and at - expected > 0.01:
                    feed(_silence_like(frame, round((at - expected) * frame.sample_rate)))  # a gap, or packets that failed
                frames += 1
                feed(frame)
                expected = (at if at is not None else 0.0) + frame.samples / frame.sample_rate
        if position is not None:
            try:
                for out in resampler.resample(None):
                    place(out.to_ndarray())
            except (av.FFmpegError, ValueError):
                pass
    if frames == 0:
        return None, [warning("audio_undecodable", f"the {codec} audio stream does not decode ({failed} packets failed); the video is encoded without sound")]
    warnings = []
    covered = end / SAMPLE_RATE
    if failed:
        warnings.append(warning("audio_damaged", f"{failed} packets of the {codec} audio stream do not decode; their time is silent"))
    if (total_samples - end) / SAMPLE_RATE > SHORT_AUDIO_SECONDS:
        warnings.append(warning("audio_short", f"the audio stream ends at {covered:.2f} s, {(total_samples - end) / SAMPLE_RATE:.2f} s before the video; the rest is silent"))
    return SourceAudio(pcm, source_channels, source_rate, codec, covered), warnings


def _silence_like(frame: "av.AudioFrame", samples: int) -> "av.AudioFrame":
    """``samples`` of silence in ``frame``'s format, layout and rate, timed just before it."""
    channels = frame.layout.nb_channels
    dtype = frame.to_ndarray().dtype
    shape = (channels, samples) if frame.format.is_planar else (1, samples * channels)
    silent = av.AudioFrame.from_ndarray(np.zeros(shape, dtype=dtype), format=frame.format.name, layout=frame.layout.name)
    silent.sample_rate = frame.sample_rate
    return silent


def _video_start_seconds(container: "av.container.InputContainer") -> float:
    """When the first video frame is shown, seconds on the file's clock (the audio is laid relative to it)."""
    if not container.streams.video:
        return 0.0
    stream = container.streams.video[0]
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _opus_encoder(channels: int, kbps: int) -> "av.CodecContext":
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = SAMPLE_RATE
    ctx.layout = "mono" if channels == 1 else "stereo"
    ctx.format = "flt"  # libopus takes packed samples
    ctx.bit_rate = kbps * 1000
    ctx.options = {"frame_duration": str(OPUS_FRAME_SAMPLES * 1000 // SAMPLE_RATE), "application": "audio", "vbr": "on"}
    ctx.open()
    return ctx


def _opus_pre_skip(ctx: "av.CodecContext") -> int:
    """The encoder's delay in samples, from its OpusHead (RFC 7845: bytes 10–11, little-endian)."""
    head = bytes(ctx.extradata or b"")
    if len(head) >= 12 and head[:8] == b"OpusHead":
        return int.from_bytes(head[10:12], "little")
    return 312  # libopus's lookahead at 48 kHz


def opus_packet_samples(packet: bytes) -> int:
    """Samples at 48 kHz an Opus packet decodes to, from its TOC byte (RFC 6716, 3.1)."""
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:
        frame = (480, 960)[config % 2]
    else:
        frame = (120, 240, 480, 960)[config % 4]
    code = toc & 3
    return frame if code == 0 else 2 * frame if code in (1, 2) else frame * (packet[1] & 0x3F)


def encode_segment(pcm: np.ndarray, start: int, stop: int, kbps: int) -> dict:
    """Samples ``[start, stop)`` of ``pcm`` as Opus packets decodable alone: ``{"preSkip", "sampleCount",
    "packets": [bytes]}``. The encode runs from ``PREROLL_SAMPLES`` before ``start`` (where the audio has them)
    to ``POSTROLL_SAMPLES`` after ``stop``; packets past what ``preSkip + sampleCount`` needs are left out."""
    channels, total = pcm.shape
    begin = max(0, start - PREROLL_SAMPLES)
    finish = min(total, stop + POSTROLL_SAMPLES)
    ctx = _opus_encoder(channels, kbps)
    pre_skip = _opus_pre_skip(ctx) + (start - begin)
    needed = pre_skip + (stop - start)
    packets: list[bytes] = []
    layout = "mono" if channels == 1 else "stereo"

    def collect(out: list) -> None:
        for packet in out:
            packets.append(bytes(packet))

    for at in range(begin, finish, OPUS_FRAME_SAMPLES):
        chunk = np.ascontiguousarray(pcm[:, at : min(finish, at + OPUS_FRAME_SAMPLES)].T.reshape(1, -1))
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout=layout)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = at - begin
        collect(ctx.encode(frame))
    collect(ctx.encode(None))
    kept: list[bytes] = []
    decoded = 0
    for packet in packets:
        if decoded >= needed:
            break
        kept.append(packet)
        decoded += opus_packet_samples(packet)
    if decoded < needed:
        raise RuntimeError(f"the Opus encoder gave {decoded} samples, fewer than the {needed} needed")
    return {"preSkip": pre_skip, "sampleCount": stop - start, "packets": kept}


def encode_audio(data: bytes, options: dict, segments: list[tuple[int, int]], fps: float, frame_count: int) -> tuple[Optional[dict], list[dict]]:
    """The contract ``EncodedAudio`` of the source ``data`` for ``segments`` (``(startFrame, frameCount)`` at
    ``fps``, the video ``frame_count`` frames long), and the warnings for the job. ``options.audioKbps`` 0 (or a
    source without sound) gives ``None``; see :func:`read_source_audio` for what a damaged stream gives."""
    kbps = options.get("audioKbps")
    if not kbps:
        return None, []
    rate = fps_fraction(fps)
    total = sample_at(frame_count, rate)
    # the source's channel count decides stereo or mono; read it before the whole decode
    source, warnings = read_source_audio(data, total, 2 if kbps >= STEREO_MIN_KBPS else 1, options.get("audioStream"))
    if source is None:
        return None, warnings
    coded = []
    for start_frame, count in segments:
        start, stop = sample_at(start_frame, rate), sample_at(start_frame + count, rate)
        segment = encode_segment(source.pcm, start, stop, kbps)
        coded.append({**segment, "packets": [base64.b64encode(p).decode("ascii") for p in segment["packets"]]})
    return {
        "codec": "opus",
        "channels": int(source.pcm.shape[0]),
        "sampleRate": SAMPLE_RATE,
        "sourceChannels": source.channels,
        "sourceSampleRate": source.sample_rate,
        "segments": coded,
    }, warnings


# --- decoding the bitstream's audio, and coding it as AAC-LC for the reconstructions -------------------


def parse_audio_chunk(data: bytes) -> dict:
    """An ``audo`` chunk's data (docs/bitstream.md: codec u8, channels u8, sample rate u32, pre-skip u32, sample
    count u32, then varint-length-prefixed packets) as ``{"channels", "sampleRate", "preSkip", "sampleCount",
    "packets": [bytes]}``; ``invalid_request`` for data that breaks the layout (the Worker sends only chunks its
    reader accepted, so this is a guard, not the format's validator)."""

    def bad(message: str) -> ContractError:
        return ContractError("invalid_request", f"audio chunk: {message}", details={"field": "audio.parts"})

    if len(data) < 16:
        raise bad(f"{len(data)} bytes is shorter than the fixed fields")
    if data[0] != OPUS_CODEC_ID:
        raise bad(f"codec {data[0]} is not Opus ({OPUS_CODEC_ID})")
    channels, rate = data[1], int.from_bytes(data[2:6], "big")
    if channels not in (1, 2) or rate != SAMPLE_RATE:
        raise bad(f"{channels} channels at {rate} Hz; expected 1 or 2 at {SAMPLE_RATE}")
    pre_skip, count = int.from_bytes(data[6:10], "big"), int.from_bytes(data[10:14], "big")
    packets: list[bytes] = []
    at = 14
    while at < len(data):
        length, shift = 0, 0
        while True:
            if at >= len(data) or shift > 21:
                raise bad("a packet length runs past the end")
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if length < 1 or at + length > len(data):
            raise bad(f"packet {len(packets)} of {length} bytes does not fit")
        packets.append(bytes(data[at : at + length]))
        at += length
    if not packets:
        raise bad("no packets")
    return {"channels": channels, "sampleRate": rate, "preSkip": pre_skip, "sampleCount": count, "packets": packets}


def decode_chunk(chunk: dict, channels: int) -> np.ndarray:
    """The ``sampleCount`` samples a parsed ``audo`` chunk decodes to (``preSkip`` dropped), as ``channels``
    channels (a mono chunk is copied to both of stereo; a stereo one averaged to mono)."""
    ctx = av.CodecContext.create("libopus", "r")
    ctx.sample_rate = SAMPLE_RATE
    ctx.layout = "mono" if chunk["channels"] == 1 else "stereo"
    pieces: list[np.ndarray] = []
    for data in chunk["packets"]:
        for frame in ctx.decode(av.Packet(data)):
            pieces.append(_planar(frame))
    pcm = np.concatenate(pieces, axis=1) if pieces else np.zeros((chunk["channels"], 0), np.float32)
    start, count = chunk["preSkip"], chunk["sampleCount"]
    out = np.zeros((chunk["channels"], count), dtype=np.float32)
    got = pcm[:, start : start + count]
    out[:, : got.shape[1]] = got
    return _to_channels(out, channels)


def _planar(frame: "av.AudioFrame") -> np.ndarray:
    """A decoded frame's samples as ``(channels, samples)`` float32 in [-1, 1], whatever its sample format."""
    array = frame.to_ndarray()
    channels = frame.layout.nb_channels
    if not frame.format.is_planar:
        array = array.reshape(-1, channels).T
    if array.dtype == np.int16:
        return array.astype(np.float32) / 32768.0
    return array.astype(np.float32, copy=False)


def _to_channels(pcm: np.ndarray, channels: int) -> np.ndarray:
    if pcm.shape[0] == channels:
        return pcm
    if channels == 2:
        return np.repeat(pcm, 2, axis=0)
    return pcm.mean(axis=0, keepdims=True).astype(np.float32)


@dataclass
class AudioTrack:
    """The sound an assembled file carries: ``pcm`` holds timeline samples ``[origin, origin + pcm.shape[1])``
    (timeline: 48 kHz samples from the video's first frame); the file carries ``[window_start, window_end)``,
    its first sample at the file's ``time_offset`` like the video. ``grid``: code AAC frames on the timeline's
    global grid of 1024 samples, keeping the frames that start inside the window (HLS segments, so consecutive
    segments' frames continue each other with no gap, no overlap and no encoder priming in between)."""

    pcm: np.ndarray
    origin: int
    window_start: int
    window_end: int
    grid: bool = False


def track_from_request(audio: dict, read_part) -> AudioTrack:
    """The ``AudioTrack`` of an assemble request's ``audio`` (``read_part(part, i)`` gives a part's chunk bytes)."""
    decoded = []
    channels = 1
    parsed: list[Optional[dict]] = []
    for i, part in enumerate(audio["parts"]):
        if "silence" in part:
            parsed.append(None)
            continue
        chunk = parse_audio_chunk(read_part(part, i))
        channels = max(channels, chunk["channels"])
        parsed.append(chunk)
    for part, chunk in zip(audio["parts"], parsed):
        decoded.append(np.zeros((channels, part["silence"]), np.float32) if chunk is None else decode_chunk(chunk, channels))
    pcm = np.concatenate(decoded, axis=1)
    origin = audio["startSample"]
    window = audio.get("window") or {"start": origin, "end": origin + pcm.shape[1]}
    if not origin <= window["start"] < window["end"] <= origin + pcm.shape[1]:
        raise ContractError(
            "invalid_request",
            f"audio.window [{window['start']}, {window['end']}) is not inside the parts' samples [{origin}, {origin + pcm.shape[1]})",
            details={"field": "audio.window"},
        )
    return AudioTrack(pcm, origin, window["start"], window["end"], bool(audio.get("grid", False)))


def add_aac_stream(out: "av.container.OutputContainer", channels: int) -> "av.AudioStream":
    """An AAC-LC stream at 48 kHz in ``out``."""
    stream = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono" if channels == 1 else "stereo")
    stream.bit_rate = AAC_KBPS_PER_CHANNEL * 1000 * channels
    return stream


def mux_aac(out: "av.container.OutputContainer", stream: "av.AudioStream", track: AudioTrack, time_offset_seconds: float) -> int:
    """Codes ``track`` as AAC into ``stream`` and muxes it; returns the samples the file's audio lasts. Without
    ``grid`` one encode runs over the window (its priming is the container's edit, as FFmpeg writes it in MP4);
    with it, the encode starts ``AAC_PREROLL_FRAMES`` grid frames early and only grid frames starting in the
    window are kept."""
    channels = track.pcm.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    offset = round(time_offset_seconds * SAMPLE_RATE)
    if track.grid:
        first = -(-track.window_start // AAC_FRAME_SAMPLES)  # first grid frame starting in the window
        end = -(-track.window_end // AAC_FRAME_SAMPLES)  # first grid frame starting after it
        begin, finish = max(0, first - AAC_PREROLL_FRAMES) * AAC_FRAME_SAMPLES, (end + 2) * AAC_FRAME_SAMPLES
        keep = (first * AAC_FRAME_SAMPLES, end * AAC_FRAME_SAMPLES)
    else:
        begin, finish = track.window_start, track.window_end
        keep = None
    samples = np.zeros((channels, finish - begin), np.float32)
    lo, hi = max(begin, track.origin), min(finish, track.origin + track.pcm.shape[1])
    if hi > lo:
        samples[:, lo - begin : hi - begin] = track.pcm[:, lo - track.origin : hi - track.origin]
    lasted = 0

    def write(packets) -> None:
        nonlocal lasted
        for packet in packets:
            if keep is not None and not (packet.pts is not None and keep[0] <= packet.pts < keep[1]):
                continue
            packet.pts = packet.pts - track.window_start + offset
            packet.dts = packet.pts
            lasted += packet.duration or AAC_FRAME_SAMPLES
            out.mux(packet)

    for at in range(0, samples.shape[1], AAC_FRAME_SAMPLES):
        chunk = np.ascontiguousarray(np.clip(samples[:, at : at + AAC_FRAME_SAMPLES], -1.0, 1.0))
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = begin + at
        frame.time_base = Fraction(1, SAMPLE_RATE)
        write(stream.encode(frame))
    write(stream.encode(None))
    return lasted if keep is not None else track.window_end - track.window_start
