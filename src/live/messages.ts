/** The body of a message on the live queue (`cmvc-live`). */
export type LiveMessage =
  /** Code chunk `n` of the video; `stepBacks`: times it let another owner's chunk go first (see fair-turn.ts). */
  | { kind: 'chunk'; videoId: string; n: number; stepBacks?: number }
  /** Sent delayed by LIVE_IDLE_SECONDS after the start and after each chunk: ends the stream if nothing came since. */
  | { kind: 'idle'; videoId: string };
