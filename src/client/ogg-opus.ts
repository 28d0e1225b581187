/**
 * A segment's sound (a bitstream audo chunk) as an Ogg Opus file (RFC 7845): the form FFmpeg and the browsers'
 * `decodeAudioData` read. The OpusHead carries the chunk's pre-skip, the last page's granule position ends the
 * sound at exactly its sample count (end trimming), so a decoder that honours both gives the segment's samples.
 */
import { opusPacketSamples, type SegmentAudio } from '../bitstream';

/** Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0, no final XOR (RFC 3533). */
const OGG_CRC = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x8000_0000 ? (r << 1) ^ 0x04c1_1db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ OGG_CRC[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}

const HEADER_TYPE_BOS = 0x02;
const HEADER_TYPE_EOS = 0x04;
/** Packets per page (each under 255 bytes takes one lacing value of the 255 a page has). */
const PACKETS_PER_PAGE = 48;

function page(packets: Uint8Array[], headerType: number, granule: bigint, serial: number, sequence: number): Uint8Array {
  const lacing: number[] = [];
  for (const p of packets) {
    for (let n = p.length; ; n -= 255) {
      lacing.push(Math.min(255, n));
      if (n < 255) break;
    }
  }
  const body = packets.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(27 + lacing.length + body);
  const view = new DataView(out.buffer);
  out.set([0x4f, 0x67, 0x67, 0x53], 0); // capture pattern "OggS"
  out[4] = 0; // version
  out[5] = headerType; // continued / first / last page flags
  view.setBigUint64(6, granule, true); // granule position: samples decoded through this page's last packet
  view.setUint32(14, serial, true); // stream serial number
  view.setUint32(18, sequence, true); // page sequence number
  out[26] = lacing.length; // segment count
  out.set(lacing, 27); // lacing values
  let at = 27 + lacing.length;
  for (const p of packets) {
    out.set(p, at);
    at += p.length;
  }
  view.setUint32(22, oggCrc(out), true); // CRC over the page with the CRC field zero
  return out;
}

function opusHead(channels: number, preSkip: number, sampleRate: number): Uint8Array {
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode('OpusHead'), 0);
  head[8] = 1; // version
  head[9] = channels; // output channel count
  view.setUint16(10, preSkip, true); // pre-skip, samples at 48 kHz
  view.setUint32(12, sampleRate, true); // input sample rate (informational)
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // channel mapping family 0: mono or stereo
  return head;
}

function opusTags(): Uint8Array {
  const vendor = new TextEncoder().encode('cmvc');
  const tags = new Uint8Array(8 + 4 + vendor.length + 4);
  const view = new DataView(tags.buffer);
  tags.set(new TextEncoder().encode('OpusTags'), 0);
  view.setUint32(8, vendor.length, true);
  tags.set(vendor, 12);
  view.setUint32(12 + vendor.length, 0, true); // no user comments
  return tags;
}

/** Largest pre-skip an OpusHead states (u16); a chunk with more cannot be written as Ogg Opus. */
export const OGG_MAX_PRE_SKIP = 0xffff;

/** The segment's sound as an Ogg Opus file (one logical stream, `serial` its serial number). */
export function oggOpus(audio: SegmentAudio, serial = 0x434d5643): Uint8Array {
  if (audio.preSkip > OGG_MAX_PRE_SKIP) throw new RangeError(`pre-skip ${audio.preSkip} does not fit an OpusHead (at most ${OGG_MAX_PRE_SKIP})`);
  const pages = [page([opusHead(audio.channels, audio.preSkip, audio.sampleRate)], HEADER_TYPE_BOS, 0n, serial, 0), page([opusTags()], 0, 0n, serial, 1)];
  let decoded = 0;
  for (let i = 0; i < audio.packets.length; i += PACKETS_PER_PAGE) {
    const packets = audio.packets.slice(i, i + PACKETS_PER_PAGE);
    for (const p of packets) decoded += opusPacketSamples(p) as number; // the reader checked every TOC
    const last = i + PACKETS_PER_PAGE >= audio.packets.length;
    // the last page's granule ends the sound at pre-skip + sample count (RFC 7845, 4.4: end trimming)
    const granule = last ? audio.preSkip + audio.sampleCount : decoded;
    pages.push(page(packets, last ? HEADER_TYPE_EOS : 0, BigInt(granule), serial, pages.length));
  }
  const out = new Uint8Array(pages.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pages) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
