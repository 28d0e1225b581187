import { Hono } from 'hono';
import { access } from '../auth/access';
import { checkConsistency } from '../videos/consistency';

export const admin = new Hono<{ Bindings: Env }>();

/** GET /v1/admin/consistency — storage audit: every stored object belongs to a live video, every video has its bitstream. */
admin.get('/consistency', access('admin'), async (c) => {
  c.header('Cache-Control', 'no-store');
  return c.json(await checkConsistency(c.env));
});
