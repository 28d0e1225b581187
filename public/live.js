// The live viewer: /live.html#url=SIGNED_BITSTREAM_URL[&floor=KBPS&ceiling=KBPS]. Follows the stream near its edge,
// choosing each segment's rate from the measured network within the floor and ceiling, and shows each choice.
import { BitstreamPlayer, decodeImageBrowser } from '/client/cmvc-client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
const floor = Number(params.get('floor') ?? 1);
const ceiling = Number(params.get('ceiling') ?? 1000);
$('floor').value = String(floor);
$('ceiling').value = String(ceiling);
$('bounds').addEventListener('submit', (e) => {
  e.preventDefault();
  params.set('floor', $('floor').value);
  params.set('ceiling', $('ceiling').value);
  location.hash = params.toString();
  location.reload();
});

// what the measurements read: when each segment (and the chunk it came from) was first drawn (ms since the epoch)
const watched = { firstDraw: {}, chunkFirstDraw: {}, chunkArrived: {}, segments: [], stalls: 0, error: null };
window.cmvcWatch = watched;
const startFrameToInfo = new Map();

const player = new BitstreamPlayer($('screen'), {
  url: params.get('url') ?? '',
  decodeImage: decodeImageBrowser,
  adaptive: { floorKbps: floor, ceilingKbps: ceiling },
  onSegment: (info) => {
    startFrameToInfo.set(info.startFrame, info);
    if (info.chunk !== null) watched.chunkArrived[info.chunk] ??= Date.now();
    watched.segments.push(info);
    const row = document.createElement('tr');
    const kbps = info.kbps === null ? '' : info.kbps.toFixed(2);
    for (const cell of [info.n, info.chunk ?? '', info.maxKbps?.toFixed(2) ?? 'whole', kbps, info.bytes, info.keyframesDropped, info.audio ?? '']) {
      const td = document.createElement('td');
      td.textContent = String(cell);
      row.append(td);
    }
    $('rates').tBodies[0].prepend(row);
  },
  onFrame: (seconds, segment) => {
    const now = Date.now();
    const info = startFrameToInfo.get(segment.startFrame);
    if (info && watched.firstDraw[info.n] === undefined) {
      watched.firstDraw[info.n] = now;
      if (info.chunk !== null && watched.chunkFirstDraw[info.chunk] === undefined) watched.chunkFirstDraw[info.chunk] = now;
    }
    $('captions').textContent = `${segment.contentText}\n${segment.motionText}`;
    $('seek').max = String(player.duration);
    $('seek').value = String(seconds);
    const state = player.live ? (player.liveEnded ? 'ended' : player.following ? 'live' : 'behind the live edge') : 'on demand';
    $('status').textContent = `${state} · ${seconds.toFixed(1)} / ${player.duration.toFixed(1)} s · ${player.bytesReceived} bytes · ${player.stalls} stalls`;
    watched.stalls = player.stalls;
  },
  onEnded: () => {
    watched.ended = true;
    $('status').textContent += ' · the broadcast ended';
  },
  onError: (error) => {
    watched.error = error.message;
    $('status').setAttribute('role', 'alert');
    $('status').textContent = `cannot play: ${error.message}`;
  },
});
window.cmvcPlayer = player;
$('toggle').addEventListener('click', () => {
  if (player.paused) player.play();
  else player.pause();
  $('toggle').textContent = player.paused ? 'Play' : 'Pause';
});
$('go-live').addEventListener('click', () => void player.goLive());
$('seek').addEventListener('input', () => void player.seek(Number($('seek').value)));
try {
  await player.open();
  watched.opened = true;
  player.play();
} catch (err) {
  watched.error = err.message;
  $('status').textContent = `cannot play: ${err.message}`;
}
