/**
 * The same body behind each way of counting a per-minute limit, for `npm run bench -- ratelimit`:
 * `/none` counts nothing; `/meter` asks the principal's AccessMeter (a Durable Object) for one token per
 * request, as every customer request did before leases; `/lease` spends tokens this isolate leased
 * from that meter (the product's way, src/auth/rate-limit.ts); `/binding` asks Cloudflare's
 * rate-limiting binding (`[[ratelimits]]`), which Miniflare runs locally.
 */
import { AccessMeter, meterFor } from '../../src/auth/access-meter';
import { IsolateLeases } from '../../src/auth/rate-limit';

export { AccessMeter };

interface BenchEnv {
  ACCESS_METER: DurableObjectNamespace<AccessMeter>;
  RATE_LIMITER: { limit(options: { key: string }): Promise<{ success: boolean }> };
}

/** A limit the bench's load stays under: what is measured is the counting, not a refusal. */
const LIMIT = 1_000_000;
/** The size of the sample clip's IT2V reconstruction, the small artifact of the edge bench. */
const BODY = new Uint8Array(12_700).fill(7);

let env: BenchEnv;
const leases = new IsolateLeases((key) => meterFor(env as unknown as Env, key));

export default {
  async fetch(request: Request, bindings: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    env = bindings;
    const path = new URL(request.url).pathname;
    let ok = true;
    if (path === '/meter') ok = (await meterFor(env as unknown as Env, 'bench').lease(1, 1, LIMIT)).granted === 1;
    else if (path === '/lease') ok = (await leases.take('bench', LIMIT, 1, (work) => ctx.waitUntil(work))).ok;
    else if (path === '/binding') ok = (await env.RATE_LIMITER.limit({ key: 'bench' })).success;
    else if (path !== '/none') return new Response('no such route', { status: 404 });
    if (!ok) return new Response('limited', { status: 429 });
    return new Response(BODY, { headers: { 'Content-Type': 'video/mp4' } });
  },
};
