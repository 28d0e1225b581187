import { app } from './app';
import { handleEncodeQueue } from './jobs/consumer';
import { handleLiveQueue } from './live/consumer';
import type { LiveMessage } from './live/messages';
import type { EncodeMessage } from './jobs/messages';
import { sweepFailedSources } from './videos/source-sweep';

export { AccessMeter } from './auth/access-meter';
export { GenerationCoordinator } from './generation/coordinator';

export default {
  fetch: app.fetch,
  /** The encode queue and the live queue (each with its dead-letter queue), told apart by name. */
  async queue(batch, env, ctx) {
    if (batch.queue.startsWith(LIVE_QUEUE_NAME)) return handleLiveQueue(batch as MessageBatch<LiveMessage>, env);
    return handleEncodeQueue(batch as MessageBatch<EncodeMessage>, env, ctx);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepFailedSources(env).then(() => undefined));
  },
} satisfies ExportedHandler<Env, EncodeMessage | LiveMessage>;

/** The live queue's name in wrangler.toml (its dead-letter queue adds `-dlq`). */
const LIVE_QUEUE_NAME = 'cmvc-live';
