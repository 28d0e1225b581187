/**
 * CMVC bitstream v1: reader, writer, cutter and inspector. Pure TypeScript (Uint8Array, DataView,
 * TextEncoder/Decoder, crypto.subtle, fflate) so the Worker, the CLI, tests and browsers share it.
 * The format is specified byte by byte in docs/bitstream.md.
 */
export * from './append';
export * from './audio';
export * from './byte-cursor';
export * from './byte-writer';
export * from './chunks';
export * from './codec';
export * from './crc32';
export * from './cut';
export * from './dictionary';
export * from './errors';
export * from './framer';
export * from './hash';
export * from './image-size';
export * from './inspect';
export * from './keyframes';
export * from './limits';
export * from './rate-cut';
export * from './reader';
export * from './sequence';
export * from './stream-limits';
export * from './text-codec';
export * from './types';
export * from './validate';
export * from './walk';
export * from './writer';
