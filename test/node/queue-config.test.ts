import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_ENCODE_ATTEMPTS } from '../../src/jobs/attempts';

/** The `[[queues.consumers]]` tables of wrangler.toml, as key → raw value (enough for its flat scalars). */
function queueConsumers(toml: string): Record<string, string>[] {
  return toml
    .split(/^\[\[queues\.consumers\]\]\s*$/m)
    .slice(1)
    .map((block) => {
      const table = block.split(/^\[/m)[0] as string;
      return Object.fromEntries([...table.matchAll(/^(\w+)\s*=\s*(.+?)\s*$/gm)].map((m) => [m[1], (m[2] as string).replace(/^"(.*)"$/, '$1')]));
    });
}

describe('the encode queue as wrangler.toml configures it', () => {
  const consumers = queueConsumers(readFileSync(join(import.meta.dirname, '..', '..', 'wrangler.toml'), 'utf8'));
  const encode = consumers.find((c) => c.queue === 'cmvc-encode');

  it("gives a job exactly the attempts the consumer counts on, so its last attempt fails the job before the dead-letter queue", () => {
    expect(encode).toBeDefined();
    expect(Number(encode?.max_retries) + 1).toBe(MAX_ENCODE_ATTEMPTS);
  });

  it('has its dead-letter queue consumed, under a name the consumer recognises as one', () => {
    const dlq = encode?.dead_letter_queue as string;
    expect(dlq).toMatch(/-dlq$/); // src/jobs/consumer.ts tells the two apart by this suffix
    expect(consumers.some((c) => c.queue === dlq)).toBe(true);
  });
});
