import type { EncodeMessage } from './messages';
import { markFailed, runEncodeJob } from './encode-job';

/** Queue consumer for encode jobs and their dead-letter queue. */
export async function handleEncodeQueue(batch: MessageBatch<EncodeMessage>, env: Env, _ctx?: ExecutionContext): Promise<void> {
  const deadLetter = batch.queue.endsWith('-dlq');
  for (const message of batch.messages) {
    const { jobId, videoId, chargeTo } = message.body;
    if (deadLetter) {
      await markFailed(env, jobId, videoId, 'encode_dead_lettered', 'the encode job failed too many times');
      message.ack();
      continue;
    }
    const outcome = await runEncodeJob(env, jobId, message.attempts, undefined, chargeTo);
    if (outcome.kind === 'retry') message.retry({ delaySeconds: outcome.delaySeconds });
    else message.ack();
  }
}
