/** The browser bundle's entry: the client and the player helper. */
export { captionCues, CmvcClient, CmvcClientError, posterBlob } from './index';
export { attachPlayer } from './player';
