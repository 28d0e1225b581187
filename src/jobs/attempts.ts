/**
 * Attempts of one encode job, the first included: the encode queue's `max_retries` in wrangler.toml
 * plus one (test/node/queue-config.test.ts holds them together). The last attempt fails the job itself,
 * so the dead-letter queue sees only messages whose consumer never answered.
 */
export const MAX_ENCODE_ATTEMPTS = 4;
