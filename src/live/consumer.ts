import { getVideo } from '../videos/store';
import { encodeChunk, failChunk } from './encode-chunk';
import { endLive } from './end-live';
import { liveShouldStepBack } from './fair-turn';
import { LIVE_MAX_STEP_BACKS, LIVE_STEP_BACK_DELAY_SECONDS } from './limits';
import type { LiveMessage } from './messages';
import { idleSeconds } from './start-live';
import { getChunk, getLive } from './store';

/** Consumer of the live queue (`cmvc-live`) and its dead-letter queue: chunk encodes and idle checks. */
export async function handleLiveQueue(batch: MessageBatch<LiveMessage>, env: Env): Promise<void> {
  const deadLetter = batch.queue.endsWith('-dlq');
  for (const message of batch.messages) {
    const body = message.body;
    if (body.kind === 'idle') {
      await endIfIdle(env, body.videoId);
      message.ack();
      continue;
    }
    if (deadLetter) {
      await failChunk(env, body.videoId, body.n, 'encode_dead_lettered', 'the chunk encode failed too many times');
      message.ack();
      continue;
    }
    if (await stepsBack(env, body)) {
      await env.LIVE_QUEUE.send({ ...body, stepBacks: (body.stepBacks ?? 0) + 1 }, { delaySeconds: LIVE_STEP_BACK_DELAY_SECONDS });
      message.ack();
      continue;
    }
    const outcome = await encodeChunk(env, body.videoId, body.n, message.attempts);
    if (outcome.kind === 'retry') message.retry({ delaySeconds: outcome.delaySeconds });
    else message.ack();
  }
}

async function stepsBack(env: Env, body: Extract<LiveMessage, { kind: 'chunk' }>): Promise<boolean> {
  if ((body.stepBacks ?? 0) >= LIVE_MAX_STEP_BACKS) return false;
  const [chunk, video] = await Promise.all([getChunk(env.DB, body.videoId, body.n), getVideo(env.DB, body.videoId)]);
  if (chunk === null || video === null || chunk.status !== 'received' || chunk.attempts > 0) return false;
  return liveShouldStepBack(env.DB, body.videoId, body.n, video.owner);
}

/** Ends a stream that got no chunk for LIVE_IDLE_SECONDS (a broadcaster that disappeared); an active one is left alone. */
async function endIfIdle(env: Env, videoId: string, now = Date.now()): Promise<void> {
  const live = await getLive(env.DB, videoId);
  if (live === null || live.state !== 'live') return;
  const lastActive = live.last_chunk_at ?? live.created_at;
  if (now - lastActive >= idleSeconds(env) * 1000 - 500) await endLive(env, videoId, 'idle');
}
