/** The browser bundle's entry: the client and the player helper. */
export { captionCues, CmvcClient, CmvcClientError, posterBlob } from './index';
export { attachPlayer } from './player';
export { BitstreamPlayer } from './bitstream-player';
export { decodeImageBrowser } from './decode-image-browser';
export { decodeBitstream, decodeSegment, DecodeError, geometryOf, lumaPsnr, parseForDecode } from './decode';
