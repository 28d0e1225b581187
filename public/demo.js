// The demo page: upload a video, follow its encode, and compare the original with both reconstructions
// and with IT2V decoded in the browser from the bitstream alone.
import { attachPlayer, CmvcClient } from '/client/cmvc-client.js';

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = 'cmvc-api-key';
let apiKey = localStorage.getItem(KEY_STORAGE) ?? '';
let current = null; // { videoId, sourceBytes, duration }

$('api-key').value = apiKey;
$('save-key').addEventListener('click', () => {
  apiKey = $('api-key').value.trim();
  localStorage.setItem(KEY_STORAGE, apiKey);
  $('key-status').textContent = apiKey ? 'key saved in this browser' : 'no key';
});

const auth = () => ({ Authorization: `Bearer ${apiKey}` });
const kb = (bytes) => (bytes >= 10240 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`);

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { ...auth(), ...(init.headers ?? {}) } });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.error ? `${body.error.message} (${body.error.code})` : `HTTP ${response.status}`);
  }
  return response;
}

function showProgress(stage, fraction) {
  $('progress-section').hidden = false;
  $('stage').textContent = stage;
  $('progress').value = fraction;
  $('percent').textContent = `${Math.round(fraction * 100)}%`;
}

function fail(err) {
  $('error').hidden = false;
  $('error').textContent = String(err.message ?? err);
}

/** Uploads with XMLHttpRequest, the one browser API that reports upload progress. */
function upload(file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/videos?filename=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('Authorization', `Bearer ${apiKey}`);
    xhr.setRequestHeader('Content-Type', file.type || 'video/mp4');
    xhr.upload.onprogress = (e) => e.lengthComputable && showProgress('Uploading', (e.loaded / e.total) * 0.3);
    xhr.onload = () => {
      const body = JSON.parse(xhr.responseText || '{}');
      if (xhr.status === 202) resolve(body);
      else reject(new Error(body.error ? `${body.error.message} (${body.error.code})` : `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new Error('the upload failed'));
    xhr.send(file);
  });
}

/** Follows the job's server-sent events (fetch, since EventSource cannot send the key). */
async function followJob(jobId) {
  const response = await api(`/v1/jobs/${jobId}/events`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      if (!data) continue;
      const job = JSON.parse(data);
      showProgress(job.status === 'running' ? 'Encoding' : job.status === 'queued' ? 'Queued' : 'Encoded', 0.3 + 0.7 * job.progress);
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed') throw new Error(`${job.error?.message} (${job.error?.code})`);
    }
  }
  throw new Error('the job event stream ended early');
}

async function blobUrl(path) {
  return URL.createObjectURL(await (await api(path)).blob());
}

async function showResult(file, videoId) {
  const video = await (await api(`/v1/videos/${videoId}`)).json();
  current = { videoId, sourceBytes: file.size, duration: video.video.durationSeconds };
  $('result').hidden = false;
  $('original').src = URL.createObjectURL(file);

  // Poster and captions come straight from the bitstream: shown before any video is generated.
  $('poster').src = await blobUrl(`/v/${videoId}/poster.webp`).catch(() => '');
  const vtt = await (await api(`/v/${videoId}/captions.vtt`)).text();
  $('captions').replaceChildren(
    ...vtt.split('\n\n').slice(1).filter(Boolean).map((cue) => {
      const li = document.createElement('li');
      li.textContent = cue.split('\n').slice(2).filter(Boolean).join(' — ');
      return li;
    }),
  );

  const tt2vBytes = Number((await api(`/v1/videos/${videoId}/bitstream?profile=tt2v`, { method: 'HEAD' })).headers.get('Content-Length'));
  const it2vBytes = video.bitstream.bytes;
  const kbps = (bytes) => ((bytes * 8) / 1000 / current.duration).toFixed(2);
  $('f-source').textContent = `${kb(file.size)} (${kbps(file.size)} kbps)`;
  $('f-it2v').textContent = `${kb(it2vBytes)} (${kbps(it2vBytes)} kbps)`;
  $('f-tt2v').textContent = `${kb(tt2vBytes)} (${kbps(tt2vBytes)} kbps)`;
  $('f-ratio').textContent = `${(file.size / it2vBytes).toFixed(0)} : 1`;

  playOnThisDevice(videoId);

  const { urls } = await (await api(`/v1/videos/${videoId}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['tt2v', 'it2v'], expiresIn: 3600 }) })).json();
  const asked = performance.now();
  for (const { mode, url } of urls) {
    const element = $(mode);
    if (mode === 'it2v') element.addEventListener('playing', () => ($('f-ttff').textContent = `${((performance.now() - asked) / 1000).toFixed(2)} s`), { once: true });
    element.src = url;
    element.play().catch(() => {});
  }
}

/** IT2V decoded here from the bitstream (Range reads as playback goes), with the bytes actually received. */
async function playOnThisDevice(videoId) {
  try {
    const client = new CmvcClient({ baseUrl: location.origin, apiKey });
    const { player } = await attachPlayer($('client-it2v'), { client, videoId, mode: 'it2v', prefer: 'bitstream' });
    const show = () => ($('f-client').textContent = `${kb(player.bytesReceived)} for ${player.duration.toFixed(1)} s (${((player.bytesReceived * 8) / 1000 / player.duration).toFixed(2)} kbps), drawn with ${player.renderer.kind}`);
    show();
    setInterval(show, 500);
    player.play();
  } catch (err) {
    $('f-client').textContent = `cannot play: ${err.message}`;
  }
}

async function handle(file) {
  $('error').hidden = true;
  if (!apiKey) return fail(new Error('enter an API key first'));
  try {
    showProgress('Uploading', 0);
    const { video, job } = await upload(file);
    await followJob(job.id);
    showProgress('Encoded', 1);
    await showResult(file, video.id);
  } catch (err) {
    fail(err);
  }
}

$('share').addEventListener('click', async () => {
  if (!current) return;
  try {
    const { urls } = await (await api(`/v1/videos/${current.videoId}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['it2v'], expiresIn: 86400 }) })).json();
    $('share-url').hidden = false;
    $('share-url').value = urls[0].url;
    $('share-url').select();
    await navigator.clipboard?.writeText(urls[0].url).catch(() => {});
  } catch (err) {
    fail(err);
  }
});

const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer.files[0];
  if (file) handle(file);
});
$('file').addEventListener('change', () => $('file').files[0] && handle($('file').files[0]));

// --- Live: broadcast the camera in 2-s chunks (a MediaRecorder restarted per chunk, so each chunk is a whole WebM
// file the server decodes on its own), sent with the ingest token only; a signed URL to watch it live.
const CHUNK_MS = 2000;
const broadcast = { videoId: null, ingest: null, stream: null, recording: false, chunks: [] };
window.cmvcBroadcast = broadcast;

function chunkType() {
  for (const type of ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp8', 'video/webm']) if (MediaRecorder.isTypeSupported(type)) return type;
  return '';
}

function showChunk(n, text) {
  let li = document.getElementById(`live-chunk-${n}`);
  if (!li) {
    li = document.createElement('li');
    li.id = `live-chunk-${n}`;
    li.value = n;
    $('live-chunks').prepend(li);
  }
  li.textContent = text;
}

async function sendChunk(n, blob) {
  const entry = broadcast.chunks[n];
  entry.bytes = blob.size;
  showChunk(n, `${kb(blob.size)} sending`);
  const response = await fetch(`${broadcast.ingest.url}/${n}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${broadcast.ingest.token}`, 'Content-Type': 'video/webm' },
    body: blob,
  });
  entry.sentAt = Date.now();
  entry.status = response.status;
  const body = await response.json().catch(() => null);
  showChunk(n, response.ok ? `${kb(blob.size)} received (${response.status})` : `${kb(blob.size)} refused: ${body?.error?.code ?? response.status}`);
  if (body?.video?.live) $('live-status').textContent = `live · ${body.video.live.segmentsCoded} segments coded · ${body.video.live.secondsCoded.toFixed(1)} s`;
}

function recordChunk(n) {
  if (!broadcast.recording) return;
  const recorder = new MediaRecorder(broadcast.stream, { mimeType: chunkType() });
  const parts = [];
  recorder.ondataavailable = (e) => e.data.size > 0 && parts.push(e.data);
  recorder.onstop = () => sendChunk(n, new Blob(parts, { type: 'video/webm' })).catch((err) => showChunk(n, `not sent: ${err.message}`));
  broadcast.chunks[n] = { n, capturedAt: Date.now() };
  recorder.start();
  setTimeout(() => {
    // the next chunk's recorder starts before this one stops: no frame falls between two chunks
    recordChunk(n + 1);
    recorder.stop();
  }, CHUNK_MS);
}

$('go-live').addEventListener('click', async () => {
  $('error').hidden = true;
  if (!apiKey) return fail(new Error('enter an API key first'));
  try {
    const withSound = $('live-audio').checked;
    broadcast.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: withSound });
    $('camera').srcObject = broadcast.stream;
    $('camera').play().catch(() => {});
    const started = await (await api(`/v1/videos?live=true${withSound ? '' : '&audioKbps=0'}`, { method: 'POST' })).json();
    broadcast.videoId = started.video.id;
    broadcast.ingest = started.ingest;
    broadcast.recording = true;
    $('go-live').disabled = true;
    $('stop-live').disabled = false;
    $('live-status').textContent = 'live · waiting for the first chunk';
    recordChunk(0);
    const { urls } = await (await api(`/v1/videos/${broadcast.videoId}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['it2v'], formats: ['bitstream'], expiresIn: 86400 }) })).json();
    broadcast.watchUrl = `/live.html#url=${encodeURIComponent(urls[0].url)}`;
    $('watch-link').href = broadcast.watchUrl;
    $('watch-link').hidden = false;
  } catch (err) {
    fail(err);
  }
});

$('stop-live').addEventListener('click', async () => {
  broadcast.recording = false;
  $('stop-live').disabled = true;
  // the last chunk is sent when its recorder stops: end after it
  await new Promise((resolve) => setTimeout(resolve, CHUNK_MS + 500));
  for (const track of broadcast.stream?.getTracks() ?? []) track.stop();
  const ended = await fetch(`${broadcast.ingest.url}/end`, { method: 'POST', headers: { Authorization: `Bearer ${broadcast.ingest.token}` } });
  $('live-status').textContent = ended.ok ? 'ended: what was sent is being coded, then it is an ordinary video' : `could not end: HTTP ${ended.status}`;
  $('go-live').disabled = false;
});
