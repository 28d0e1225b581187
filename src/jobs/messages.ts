/** The body of a message on the encode queue. */
export interface EncodeMessage {
  jobId: string;
  videoId: string;
  /** The key that uploaded the video and pays its encode; absent in messages sent before it existed (then the video's owner). */
  chargeTo?: string;
  /** Times this job stepped back to let another owner's encode go first (see fair-turn.ts). */
  stepBacks?: number;
}
