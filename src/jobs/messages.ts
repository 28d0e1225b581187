/** The body of a message on the encode queue. */
export interface EncodeMessage {
  jobId: string;
  videoId: string;
}
