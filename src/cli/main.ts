import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { inspectBitstream, BitstreamError } from '../bitstream';
import { DecodeError } from '../client/decode';
import { api, apiConfig, ApiFailure, type ApiConfig } from './api';
import { Mode, MODES } from '../gpu/contract';
import { parseArgs, parseDuration, UsageError } from './args';
import { formatInspect } from './format';
import type { z } from 'zod';
import type { CreatedKey, JobView, KeyView, SignedUrls, UploadAccepted, VideoView } from '../openapi/shapes';

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, notFound: 4, auth: 5 } as const;

const HELP = `cmvc — the CMVC Edge command line

usage: cmvc <command> [options]

commands:
  encode FILE [--out FILE.cmvc] [--wait] [--keep-source]   upload a video, follow its encode, save the bitstream
  inspect FILE                                             a bitstream's structure, sizes and bits per second
  decode FILE --out x.y4m|x.mp4 [--tt2v] [--lenient-motion]  render the video from the bitstream alone, offline (MP4 needs ffmpeg and carries the sound; Y4M has none)
  live push FILE|- [--chunk-seconds 2] [--frame-rate 25] [--no-sound] [--target-kbps N] [--audio-kbps N]   stream a file or stdin to a new live video in real time (through ffmpeg); prints the watch URL
  url ID MODE [--exp 1h] [--segment N | --hls | --bitstream] [--option k=v]...   mint a signed reconstruction URL (MODE: tt2v | it2v; --hls: the playlist; --bitstream: the bitstream for the client decoder)
  keys create NAME --scopes a,b [--exp 30d]                create an API key (its secret is shown once)
  keys list                                                list keys (no secrets)
  keys revoke ID                                           revoke a key at once
  gpu status | gpu warm --min N                            the deployed Modal GPU functions

every command takes --json (machine-readable output) and --help.
environment: CMVC_API (default http://127.0.0.1:8787), CMVC_API_KEY (default: ADMIN_API_KEY from ./.dev.vars)
exit codes: 0 ok, 1 failure, 2 usage, 3 API unreachable, 4 not found, 5 not authorised
`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const print = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      print(HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    if (command === 'gpu') {
      const { runGpuCommand } = await import('./gpu');
      return await runGpuCommand(rest, io);
    }
    if (rest.includes('--help')) {
      print(HELP);
      return EXIT.ok;
    }
    const config = apiConfig(io.env);
    switch (command) {
      case 'inspect':
        return inspect(rest, print);
      case 'decode':
        return await decode(rest, print);
      case 'encode':
        return await encode(rest, config, io, print);
      case 'url':
        return await url(rest, config, print);
      case 'keys':
        return await keys(rest, config, print);
      case 'live': {
        const { livePush } = await import('./live');
        const summary = await livePush(rest, config, print);
        return summary.chunksSent > 0 ? EXIT.ok : EXIT.failure;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`cmvc: ${err.message}\nrun "cmvc --help" for usage\n`);
      return EXIT.usage;
    }
    if (err instanceof ApiFailure) {
      io.stderr.write(`cmvc: ${err.message}${err.code ? ` (${err.code})` : ''}\n`);
      if (err.status === 0) return EXIT.unreachable;
      if (err.status === 404) return EXIT.notFound;
      if (err.status === 401 || err.status === 403) return EXIT.auth;
      return EXIT.failure;
    }
    if (err instanceof DecodeError) {
      io.stderr.write(`cmvc: cannot decode (${err.code}): ${err.message}\n`);
      return EXIT.failure;
    }
    if (err instanceof BitstreamError) {
      io.stderr.write(`cmvc: not a valid CMVC bitstream: ${err.message}\n`);
      return EXIT.failure;
    }
    if (err && typeof err === 'object' && 'code' in err && (err as { code: unknown }).code === 'ENOENT') {
      io.stderr.write(`cmvc: no such file: ${(err as { path?: string }).path}\n`);
      return EXIT.notFound;
    }
    // Anything else is a failure said in one line (CMVC_DEBUG=1 adds the stack): a user never gets a stack trace.
    io.stderr.write(`cmvc: ${command ?? ''} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    if (io.env.CMVC_DEBUG === '1' && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return EXIT.failure;
  }
}

async function decode(argv: string[], print: (t: string) => void): Promise<number> {
  const { decodeCommand } = await import('./decode');
  const summary = await decodeCommand(argv);
  if (argv.includes('--json')) print(JSON.stringify(summary));
  else {
    print(`${summary.file}: ${summary.frames} ${summary.mode} frames of ${summary.width}x${summary.height} at ${summary.fps} fps from ${summary.bitstreamBytes} bitstream bytes in ${summary.seconds.toFixed(2)} s (${(summary.frames / summary.seconds).toFixed(1)} frames/s)`);
    if (summary.audio === 'aac') print('  with the sound (AAC)');
    if (summary.audio === 'left-out') print('  the bitstream has sound, which Y4M cannot carry: left out (write .mp4 to keep it)');
  }
  return EXIT.ok;
}

function inspect(argv: string[], print: (t: string) => void): number {
  const args = parseArgs(argv, new Set(), new Set(['json']));
  const [file, extra] = args.positionals;
  if (file === undefined || extra !== undefined) throw new UsageError('inspect takes one FILE');
  const report = inspectBitstream(new Uint8Array(readFileSync(file)));
  print(args.options.has('json') ? JSON.stringify(report, null, 2) : formatInspect(report, basename(file)));
  return EXIT.ok;
}

async function encode(argv: string[], config: ApiConfig, io: Io, print: (t: string) => void): Promise<number> {
  const args = parseArgs(argv, new Set(['out']), new Set(['json', 'wait', 'keep-source']));
  const [file, extra] = args.positionals;
  if (file === undefined || extra !== undefined) throw new UsageError('encode takes one FILE');
  const json = args.options.has('json');
  const bytes = readFileSync(file);
  const query = new URLSearchParams({ filename: basename(file), ...(args.options.has('keep-source') ? { keepSource: 'true' } : {}) });
  const uploaded = (await (await api(config, `/v1/videos?${query}`, { method: 'POST', headers: { 'Content-Type': 'video/mp4' }, body: bytes })).json()) as z.infer<typeof UploadAccepted>;
  const wait = args.options.has('wait') || args.options.has('out');
  if (!wait) {
    print(json ? JSON.stringify(uploaded) : `uploaded ${file} as ${uploaded.video.id} (job ${uploaded.job.id}, ${uploaded.job.status})`);
    return EXIT.ok;
  }
  let job = uploaded.job;
  const bar = (p: number) => `[${'#'.repeat(Math.round(p * 30)).padEnd(30, '.')}] ${(p * 100).toFixed(0).padStart(3)}% ${job.status}`;
  while (job.status === 'queued' || job.status === 'running') {
    if (!json && io.stdout.isTTY) io.stdout.write(`\r${bar(job.progress)}`);
    await new Promise((r) => setTimeout(r, 500));
    job = (await (await api(config, `/v1/jobs/${job.id}`)).json()) as z.infer<typeof JobView>;
  }
  if (!json && io.stdout.isTTY) io.stdout.write(`\r${bar(job.status === 'succeeded' ? 1 : job.progress)}\n`);
  if (job.status !== 'succeeded') {
    io.stderr.write(`cmvc: encode failed: ${job.error?.message ?? 'unknown error'} (${job.error?.code ?? 'failed'})\n`);
    return EXIT.failure;
  }
  const video = (await (await api(config, `/v1/videos/${uploaded.video.id}`)).json()) as z.infer<typeof VideoView>;
  const out = (args.options.get('out') as string | undefined) ?? `${basename(file).replace(/\.[^.]+$/, '')}.cmvc`;
  const bitstream = new Uint8Array(await (await api(config, `/v1/videos/${video.id}/bitstream`)).arrayBuffer());
  writeFileSync(out, bitstream);
  if (json) print(JSON.stringify({ video, bitstreamFile: out }));
  else print(`${video.id}: ${bytes.byteLength} source bytes → ${bitstream.byteLength} bitstream bytes (${video.bitstream?.kbps?.toFixed(2)} kbps), written to ${out}`);
  return EXIT.ok;
}

async function url(argv: string[], config: ApiConfig, print: (t: string) => void): Promise<number> {
  const args = parseArgs(argv, new Set(['exp', 'segment', 'option']), new Set(['json', 'hls', 'bitstream']));
  const [id, mode, extra] = args.positionals;
  if (id === undefined || mode === undefined || extra !== undefined) throw new UsageError('url takes ID MODE');
  if (!Mode.safeParse(mode).success) throw new UsageError(`MODE must be ${MODES.join(' or ')}`);
  const expiresIn = parseDuration((args.options.get('exp') as string | undefined) ?? '1h');
  const options: Record<string, string> = {};
  const option = args.options.get('option');
  if (typeof option === 'string') {
    for (const pair of option.split(',')) {
      const [k, v] = pair.split('=');
      if (!k || v === undefined) throw new UsageError(`--option wants k=v[,k=v], got "${pair}"`);
      options[k] = v;
    }
  }
  const segment = args.options.get('segment');
  if (args.options.has('hls') && segment !== undefined) throw new UsageError('--hls is a playlist of the whole video: it does not take --segment');
  if (args.options.has('bitstream') && (segment !== undefined || args.options.has('hls') || option !== undefined)) throw new UsageError('--bitstream is the whole bitstream: it takes no --segment, --hls or --option');
  const format = args.options.has('hls') ? 'hls' : args.options.has('bitstream') ? 'bitstream' : 'mp4';
  const body = { modes: [mode], expiresIn, options, formats: [format], ...(typeof segment === 'string' ? { segments: [Number(segment)] } : {}) };
  const minted = (await (await api(config, `/v1/videos/${id}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json()) as z.infer<typeof SignedUrls>;
  print(args.options.has('json') ? JSON.stringify(minted) : minted.urls[0]!.url);
  return EXIT.ok;
}

async function keys(argv: string[], config: ApiConfig, print: (t: string) => void): Promise<number> {
  const args = parseArgs(argv, new Set(['scopes', 'exp', 'owner']), new Set(['json']));
  const [action, arg, extra] = args.positionals;
  const json = args.options.has('json');
  if (extra !== undefined) throw new UsageError('too many arguments');
  if (action === 'create') {
    if (!arg) throw new UsageError('keys create takes NAME');
    const scopes = args.options.get('scopes');
    if (typeof scopes !== 'string') throw new UsageError('keys create needs --scopes (encode,read,reconstruct,admin)');
    const exp = args.options.get('exp');
    const body = {
      name: arg,
      scopes: scopes.split(',').map((s) => s.trim()),
      ...(typeof exp === 'string' ? { expiresAt: new Date(Date.now() + parseDuration(exp) * 1000).toISOString() } : {}),
      ...(typeof args.options.get('owner') === 'string' ? { owner: args.options.get('owner') } : {}),
    };
    const key = (await (await api(config, '/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json()) as z.infer<typeof CreatedKey>;
    print(json ? JSON.stringify(key) : `${key.id}  ${key.scopes.join(',')}\nsecret (shown once): ${key.secret}`);
    return EXIT.ok;
  }
  if (action === 'list') {
    if (arg) throw new UsageError('keys list takes no argument');
    const listed = (await (await api(config, '/v1/keys')).json()) as { keys: z.infer<typeof KeyView>[] };
    if (json) print(JSON.stringify(listed));
    else for (const k of listed.keys) print(`${k.id}  ${k.prefix}…  ${k.name}  ${k.scopes.join(',')}${k.revokedAt ? '  revoked' : ''}${k.expiresAt ? `  expires ${k.expiresAt}` : ''}`);
    return EXIT.ok;
  }
  if (action === 'revoke') {
    if (!arg) throw new UsageError('keys revoke takes ID');
    await api(config, `/v1/keys/${arg}`, { method: 'DELETE' });
    print(json ? JSON.stringify({ revoked: arg }) : `revoked ${arg}`);
    return EXIT.ok;
  }
  throw new UsageError('keys wants create, list or revoke');
}
