import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { access } from '../auth/access';
import type { Principal } from '../auth/principal';
import { notFound } from '../http/errors';
import { ID_PATTERN } from '../http/ids';
import { getJob, type JobRow } from '../videos/store';
import { visibleVideo } from '../videos/visibility';
import { jobView } from '../videos/views';

const EVENT_POLL_MS = 500;
const EVENT_STREAM_MAX_MS = 10 * 60 * 1000;

export const jobs = new Hono<{ Bindings: Env }>();

/** The job if it exists and its video is visible to this principal; otherwise 404. */
async function visibleJob(db: D1Database, id: string, principal: Principal): Promise<JobRow> {
  const job = ID_PATTERN.test(id) ? await getJob(db, id) : null;
  if (!job) throw notFound('job');
  await visibleVideo(db, job.video_id, principal).catch(() => {
    throw notFound('job');
  });
  return job;
}

/** GET /v1/jobs/{id} — state and progress of an encode job. */
jobs.get('/:id', access('read'), async (c) => {
  const job = await visibleJob(c.env.DB, c.req.param('id'), c.get('principal'));
  c.header('Cache-Control', 'no-store');
  return c.json(jobView(job));
});

/** GET /v1/jobs/{id}/events — the same as server-sent events (`event: job`), until the job ends. */
jobs.get('/:id/events', access('read'), async (c) => {
  let job = await visibleJob(c.env.DB, c.req.param('id'), c.get('principal'));
  c.header('Cache-Control', 'no-store');
  return streamSSE(c, async (stream) => {
    const started = Date.now();
    let last = '';
    for (;;) {
      const data = JSON.stringify(jobView(job));
      if (data !== last) {
        await stream.writeSSE({ event: 'job', data, id: String(job.updated_at) });
        last = data;
      }
      if (job.status === 'succeeded' || job.status === 'failed' || stream.aborted || Date.now() - started > EVENT_STREAM_MAX_MS) break;
      await stream.sleep(EVENT_POLL_MS);
      job = (await getJob(c.env.DB, job.id)) ?? job;
    }
  });
});
