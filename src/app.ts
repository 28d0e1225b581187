import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { benchBaseline } from './cache/bench-baseline';
import { admin } from './routes/admin';
import { onError, onNotFound } from './http/on-error';
import { documentedRouteMethods } from './openapi/route-methods';
import { bitstreams, videoBitstream } from './routes/bitstreams';
import { health } from './routes/health';
import { internalArtifacts, internalBitstreams } from './routes/internal-artifacts';
import { internalSources } from './routes/internal-sources';
import { jobs } from './routes/jobs';
import { keys } from './routes/keys';
import { live } from './routes/live';
import { meta } from './routes/meta';
import { reconstruct } from './routes/reconstruct';
import { usage } from './routes/usage';
import { videoUrls } from './routes/video-urls';
import { videos } from './routes/videos';

export const app = new Hono<{ Bindings: Env }>();

app.use(
  '*',
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    crossOriginResourcePolicy: 'cross-origin',
    referrerPolicy: 'no-referrer',
  }),
);
app.use(
  '*',
  cors({
    origin: (origin, c) => ((c.env as Env).CORS_ORIGINS.split(',').map((o) => o.trim()).includes(origin) ? origin : null),
    allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Prefer', 'Range', 'If-None-Match'],
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    exposeHeaders: ['ETag', 'Content-Range', 'Content-Length', 'Retry-After', 'Location', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-Cache', 'CMVC-Kbps', 'CMVC-Keyframes-Dropped', 'CMVC-Audio', 'CMVC-Live', 'CMVC-Live-Segments', 'CMVC-Live-Chunk', 'Server-Timing'],
    maxAge: 600,
  }),
);

app.use('/__bench/*', benchBaseline());
app.route('/healthz', health);
app.route('/', meta);
app.route('/v1/videos', videos);
app.route('/v1/videos', videoUrls);
app.route('/v1/videos', videoBitstream);
app.route('/v1/videos', live);
app.route('/v1/bitstreams', bitstreams);
app.route('/v1/jobs', jobs);
app.route('/v1/keys', keys);
app.route('/v1/usage', usage);
app.route('/v1/admin', admin);
app.route('/v', reconstruct);
app.route('/internal/sources', internalSources);
app.route('/internal/artifacts', internalArtifacts);
app.route('/internal/bitstreams', internalBitstreams);
app.onError(onError);
app.notFound(onNotFound(documentedRouteMethods()));
