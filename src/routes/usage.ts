import { Hono } from 'hono';
import { access } from '../auth/access';
import { flushUsage, gpuInFlight } from '../auth/usage';
import { badRequest } from '../http/errors';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export const usage = new Hono<{ Bindings: Env }>();

/**
 * GET /v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD[&keyId=…] — requests, bytes served, GPU seconds and
 * generations per key and UTC day. A key sees its own; the admin sees every key (or one by keyId).
 * A report about one key adds `inFlight`: its unsettled reservations and follow-ups.
 */
usage.get('/', access('read'), async (c) => {
  const principal = c.get('principal');
  const today = new Date().toISOString().slice(0, 10);
  const from = c.req.query('from') ?? new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
  const to = c.req.query('to') ?? today;
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (!DAY.test(value)) throw badRequest('invalid_option', `option "${name}" must be a UTC date YYYY-MM-DD`, { option: name });
  }
  const asked = c.req.query('keyId');
  const isAdmin = principal.scopes.has('admin');
  const keyId = isAdmin ? (asked ?? null) : principal.keyId;
  if (!isAdmin && asked !== undefined && asked !== principal.keyId) throw badRequest('invalid_option', 'a key may only read its own usage', { option: 'keyId' });
  await flushUsage(c.env.DB); // this isolate's counts, so a key sees its own latest requests
  const { results } = await c.env.DB.prepare(
    `SELECT key_id AS keyId, day, requests, bytes_served AS bytesServed, gpu_seconds AS gpuSeconds, generations
       FROM usage_daily WHERE day BETWEEN ? AND ? ${keyId === null ? '' : 'AND key_id = ?'} ORDER BY day, key_id`,
  )
    .bind(...(keyId === null ? [from, to] : [from, to, keyId]))
    .all();
  c.header('Cache-Control', 'no-store');
  return c.json({ from, to, usage: results, ...(keyId === null ? {} : { inFlight: await gpuInFlight(c.env, keyId) }) });
});
