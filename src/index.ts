import { app } from './app';
import { handleEncodeQueue } from './jobs/consumer';
import type { EncodeMessage } from './jobs/messages';

export { AccessMeter } from './auth/access-meter';
export { GenerationCoordinator } from './generation/coordinator';

export default {
  fetch: app.fetch,
  queue: handleEncodeQueue,
} satisfies ExportedHandler<Env, EncodeMessage>;
