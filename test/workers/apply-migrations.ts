import { applyD1Migrations, env, reset, type D1Migration } from 'cloudflare:test';
import { beforeEach } from 'vitest';

const migrations = (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS;

// Every test starts from empty storage (R2, D1, Durable Objects) with the schema applied.
beforeEach(async () => {
  await reset();
  await applyD1Migrations(env.DB, migrations);
});
