/** The browser bundle's entry: the client and the player helper. */
import { serveFrameRows, type WorkerScope } from './frame-workers';
export { captionCues, CmvcClient, CmvcClientError, posterBlob } from './index';
export { attachPlayer } from './player';
export { BitstreamPlayer } from './bitstream-player';
export { decodeSegmentAudio, defaultAudioDecoding } from './sound';
export { decodeImageBrowser } from './decode-image-browser';
export { decodeBitstream, decodeSegment, DecodeError, geometryOf, lumaPsnr, parseForDecode } from './decode';

// Started as one of the bitstream player's frame workers (a module worker running this bundle): compute frame rows.
if (typeof document === 'undefined' && 'WorkerGlobalScope' in globalThis) serveFrameRows(globalThis as unknown as WorkerScope);
