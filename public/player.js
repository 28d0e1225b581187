// The player page: /player.html?v=VIDEO_ID[&mode=it2v], with the API key the demo page saved.
import { attachPlayer, CmvcClient } from '/client/cmvc-client.js';

const params = new URLSearchParams(location.search);
const status = document.getElementById('status');
const video = document.getElementById('player');
const client = new CmvcClient({ baseUrl: location.origin, apiKey: localStorage.getItem('cmvc-api-key') ?? undefined });
try {
  const info = await attachPlayer(video, { client, videoId: params.get('v') ?? '', mode: params.get('mode') === 'tt2v' ? 'tt2v' : 'it2v' });
  status.textContent = `bitstream ${info.bitstreamBytes} bytes, ${info.segments} segment(s), playing ${info.source}`;
  status.dataset.ready = 'true';
  video.play().catch(() => {});
} catch (err) {
  status.textContent = `could not play: ${err.message}`;
  status.dataset.error = 'true';
}
