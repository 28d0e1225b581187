/**
 * Reads a GPU encode response (JSON) on stdin, writes the real CMVC bitstream, and prints its size
 * in bytes for each profile as JSON: {"full": N, "tt2v": N}. Used by gpu-functions/scripts/quality_table.py.
 */
import { cutBitstream, writeBitstream } from '../src/bitstream';
import { EncodeResponse } from '../src/gpu/contract';
import { bitstreamFromEncode } from '../src/jobs/bitstream-from-encode';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const encoded = EncodeResponse.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
const full = writeBitstream(bitstreamFromEncode(encoded));
const tt2v = cutBitstream(full, { profile: 'tt2v' });
console.log(JSON.stringify({ full: full.byteLength, tt2v: tt2v.byteLength }));
