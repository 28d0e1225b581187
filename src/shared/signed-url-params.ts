/**
 * The query parameters of a signed URL's signature, named once: auth/signed-url.ts signs and verifies them, and the
 * reconstruction options (which are every other parameter) skip them without knowing auth/.
 */
export const SIGNATURE_PARAM = 'sig';
export const EXPIRY_PARAM = 'exp';
export const KEY_ID_PARAM = 'kid';
export const MINTER_PARAM = 'mk';
export const ADJUSTABLE_PARAM = 'adj';
/** What a signed URL may let its holder choose (`adj`): the segments and the rate cut of a bitstream read, which cost no GPU. */
export const ADJUSTABLE_PARAMS = ['maxKbps', 'segments'] as const;
/** Every parameter of the signature itself (the rest are the URL's options). */
export const SIGNATURE_PARAMS: ReadonlySet<string> = new Set([EXPIRY_PARAM, SIGNATURE_PARAM, KEY_ID_PARAM, MINTER_PARAM, ADJUSTABLE_PARAM]);
