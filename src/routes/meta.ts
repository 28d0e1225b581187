import { Hono } from 'hono';
import { access } from '../auth/access';
import { openApiDocument } from '../openapi/document';
import { internalOpenApiDocument } from '../openapi/internal-document';

export const meta = new Hono<{ Bindings: Env }>();

/** GET /openapi.json — the OpenAPI 3.1 document of the public API. */
meta.get('/openapi.json', (c) => {
  c.header('Cache-Control', 'public, max-age=300');
  return c.json(openApiDocument(new URL(c.req.url).origin));
});

/** GET /internal/openapi.json — the OpenAPI 3.1 document of the routes the GPU functions call (admin). */
meta.get('/internal/openapi.json', access('admin'), (c) => {
  c.header('Cache-Control', 'no-store');
  return c.json(internalOpenApiDocument(new URL(c.req.url).origin));
});

const escapeHtml = (text: unknown) => String(text ?? '').replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch] as string);

/** The parts of an OpenAPI operation the docs page shows. */
interface DocOperation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; description?: string }[];
  requestBody?: { content: Record<string, unknown> };
  responses?: Record<string, { description: string }>;
}

/** GET /docs — the API reference, rendered on the server: no script, nothing from a CDN. */
meta.get('/docs', (c) => {
  const doc = openApiDocument(new URL(c.req.url).origin) as { info: { title: string; description: string }; paths: Record<string, Record<string, DocOperation>> };
  const sections = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const params = (op.parameters ?? []).map((p) => `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${escapeHtml(p.description ?? '')}</td></tr>`).join('');
      const responses = Object.entries(op.responses ?? {}).map(([status, r]) => `<li><code>${status}</code> ${escapeHtml(r.description)}</li>`).join('');
      const body = op.requestBody ? `<p>Body: ${Object.keys(op.requestBody.content).map((t) => `<code>${escapeHtml(t)}</code>`).join(', ')}</p>` : '';
      return `<section><h3><span class="m">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3><p>${escapeHtml(op.summary)}${op.description ? ` — ${escapeHtml(op.description)}` : ''}</p>${body}${params ? `<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>${params}</table>` : ''}<ul>${responses}</ul></section>`;
    }),
  );
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.info.title)} API</title><style>
body{font:15px/1.4 system-ui,sans-serif;max-width:960px;margin:auto;padding:1rem}code{background:#f3f3f3;padding:0 .2em}
.m{display:inline-block;min-width:4.5em;font-size:.8em;background:#246;color:#fff;padding:.1em .4em;border-radius:3px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left}section{margin:1.5rem 0}
</style></head><body><h1>${escapeHtml(doc.info.title)} API</h1><p>${escapeHtml(doc.info.description)}</p>
<p>Errors are <code>{"error": {"code", "message", "details"?}}</code>. Auth: <code>Authorization: Bearer &lt;key&gt;</code>, or a signed URL on <code>/v/…</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
${sections.join('\n')}</body></html>`;
  c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
  return c.html(html);
});
