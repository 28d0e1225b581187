import { app } from './app';
import { handleEncodeQueue } from './jobs/consumer';
import type { EncodeMessage } from './jobs/messages';
import { sweepFailedSources } from './videos/source-sweep';

export { AccessMeter } from './auth/access-meter';
export { GenerationCoordinator } from './generation/coordinator';

export default {
  fetch: app.fetch,
  queue: handleEncodeQueue,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepFailedSources(env).then(() => undefined));
  },
} satisfies ExportedHandler<Env, EncodeMessage>;
