import { Hono } from 'hono';
import { access } from '../auth/access';
import { createKey, getKey, keyView, listKeys, revokeKey } from '../auth/keys';
import { CreateKeyBody } from '../auth/request-shapes';
import { badRequest, notFound } from '../http/errors';
import { ID_PATTERN } from '../http/ids';
import { jsonBody } from '../http/json-body';

export const keys = new Hono<{ Bindings: Env }>();

/** POST /v1/keys — create a key; its secret is in this answer only. */
keys.post('/', access('admin'), async (c) => {
  const body = await jsonBody(c.req.raw, CreateKeyBody);
  const expiresAt = body.expiresAt === undefined ? null : Date.parse(body.expiresAt);
  if (expiresAt !== null && expiresAt <= Date.now()) {
    throw badRequest('invalid_body', 'expiresAt: must be in the future', { field: 'expiresAt' });
  }
  const { row, secret } = await createKey(
    c.env.DB,
    { name: body.name, scopes: body.scopes, owner: body.owner, expiresAt, requestsPerMinute: body.limits?.requestsPerMinute, gpuSecondsPerDay: body.limits?.gpuSecondsPerDay, storageBytes: body.limits?.storageBytes },
    c.get('principal').keyId,
  );
  c.header('Cache-Control', 'no-store');
  return c.json({ ...keyView(row), secret }, 201);
});

/** GET /v1/keys — every key, without secrets. */
keys.get('/', access('admin'), async (c) => {
  c.header('Cache-Control', 'no-store');
  return c.json({ keys: (await listKeys(c.env.DB)).map(keyView) });
});

/** DELETE /v1/keys/{id} — revoke at once (every isolate stops trusting it within seconds). */
keys.delete('/:id', access('admin'), async (c) => {
  const id = c.req.param('id');
  const row = ID_PATTERN.test(id) ? await getKey(c.env.DB, id) : null;
  if (!row) throw notFound('key');
  await revokeKey(c.env.DB, id);
  return c.body(null, 204);
});
