import type { EncodeMessage } from './messages';
import { markFailed, runEncodeJob } from './encode-job';
import { MAX_STEP_BACKS, shouldStepBack, STEP_BACK_DELAY_SECONDS } from './fair-turn';
import { getJob, getVideo } from '../videos/store';

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
    if (await stepsBack(env, message.body)) {
      // A new message rather than retry(): stepping back must not use up the job's attempts.
      await env.ENCODE_QUEUE.send({ ...message.body, stepBacks: (message.body.stepBacks ?? 0) + 1 }, { delaySeconds: STEP_BACK_DELAY_SECONDS });
      message.ack();
      continue;
    }
    const outcome = await runEncodeJob(env, jobId, message.attempts, undefined, chargeTo);
    if (outcome.kind === 'retry') message.retry({ delaySeconds: outcome.delaySeconds });
    else message.ack();
  }
}

async function stepsBack(env: Env, body: EncodeMessage): Promise<boolean> {
  if ((body.stepBacks ?? 0) >= MAX_STEP_BACKS) return false;
  const [job, video] = await Promise.all([getJob(env.DB, body.jobId), getVideo(env.DB, body.videoId)]);
  if (job === null || video === null || job.status !== 'queued' || job.attempts > 0) return false;
  return shouldStepBack(env.DB, job.id, video.owner);
}
