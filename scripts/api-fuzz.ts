/**
 * `npm run fuzz:api [-- --examples 20]`: Schemathesis against the running stack's `/openapi.json`
 * with an API key. Every documented operation is called with generated valid and invalid input;
 * the run fails on any 5xx, on a response that does not conform to the documented schema, status
 * or content type, and on invalid input that is accepted. Loopback only; stops by itself.
 * Schemathesis lives in its own virtual environment (gpu-functions/.venv-apifuzz, pinned in
 * gpu-functions/requirements-apifuzz.txt) so the GPU server's pins never meet its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureToolVenv } from './setup-python.mjs';
import { UploadAccepted, VideoView } from '../src/openapi/shapes';
import { UPLOAD_MEDIA_TYPES } from '../src/uploads/upload-options';
import { ROOT, SAMPLE_CLIP, startStack } from '../test/e2e/stack';
import { json } from '../test/json';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? (args[args.indexOf(name) + 1] ?? fallback) : fallback);
const EXAMPLES = option('--examples', '25');
const SEED = option('--seed', '20261128');

const st = join(ensureToolVenv('.venv-apifuzz', 'requirements-apifuzz.txt'), 'st');
const stack = await startStack();
let status = 1;
try {
  // A ready video, so the operations that take a video id can also be reached with a real one.
  const auth = { Authorization: `Bearer ${stack.adminKey}` };
  const upload = await json(await fetch(`${stack.base}/v1/videos`, { method: 'POST', headers: { ...auth, 'Content-Type': 'video/mp4' }, body: readFileSync(SAMPLE_CLIP) }), UploadAccepted);
  for (let i = 0; i < 240; i++) {
    const video = await json(await fetch(`${stack.base}/v1/videos/${upload.video.id}`, { headers: auth }), VideoView);
    if (video.status === 'succeeded' || video.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const reportDir = join(ROOT, 'test-results', 'schemathesis');
  mkdirSync(reportDir, { recursive: true });
  const run = spawnSync(
    st,
    [
      'run',
      `${stack.base}/openapi.json`,
      '--header',
      `Authorization: Bearer ${stack.adminKey}`,
      '--checks',
      'all',
      // Requests that the schema allows but the API must still refuse, for reasons JSON Schema cannot
      // state: bytes that are not a CMVC bitstream or not a video, a segment range past the video's
      // end, an expiry in the past, a minimum scene length above the maximum. Each was reviewed;
      // a 400/422 with a code that names the field is the right answer to all of them.
      '--exclude-checks',
      'positive_data_acceptance',
      '--max-examples',
      EXAMPLES,
      '--seed',
      SEED,
      // One worker: with two, Hypothesis's lambda-source parsing trips a CPython 3.11 AST bug
      // ("AST constructor recursion depth mismatch") that Schemathesis reports as a runtime error.
      '--workers',
      '1',
      '--request-timeout',
      '90',
      '--suppress-health-check',
      'too_slow,filter_too_much',
      '--report',
      'junit',
      '--report-dir',
      reportDir,
    ],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        NO_COLOR: '1',
        // scripts/api_fuzz_hooks.py: bytes for the binary bodies (the upload's types, bitstreams).
        SCHEMATHESIS_HOOKS: 'api_fuzz_hooks',
        PYTHONPATH: join(ROOT, 'scripts'),
        CMVC_FUZZ_SAMPLE: SAMPLE_CLIP,
        CMVC_FUZZ_UPLOAD_TYPES: UPLOAD_MEDIA_TYPES.join(','),
      },
    },
  );
  status = run.status ?? 1;
  console.log(`\n[fuzz:api] Schemathesis ${status === 0 ? 'found nothing' : 'found failures (above)'}; JUnit report in test-results/schemathesis/`);
} finally {
  await stack.stop();
}
process.exit(status);
