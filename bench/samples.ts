/**
 * The sample clips the rate–distortion table is measured on (each cut to its first 4 s there):
 * the committed `test/fixtures/cup-4s.mp4` and, where this machine can fetch Debian's `opencv-doc` package
 * (`apt-get download`, no root needed), its real clips that are not cuts of it: tree.avi (slow motion),
 * vtest.avi (people, static camera), box.mp4 (hand-held). Kept under `.cache/opencv-doc/` (git-ignored)
 * after the first run. Megamind.avi is left to `--all-clips`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cache = join(root, '.cache', 'opencv-doc');
const DOC = join(cache, 'x', 'usr', 'share', 'doc', 'opencv-doc');

export function sampleClips(all = false): { clips: string[]; note: string | null } {
  const clips = [join(root, 'test', 'fixtures', 'cup-4s.mp4')];
  try {
    if (!existsSync(DOC)) {
      mkdirSync(cache, { recursive: true });
      execFileSync('apt-get', ['download', '-q', 'opencv-doc'], { cwd: cache, stdio: 'ignore' });
      const deb = readdirSync(cache).find((f) => f.startsWith('opencv-doc') && f.endsWith('.deb'));
      if (!deb) throw new Error('no .deb downloaded');
      execFileSync('dpkg-deb', ['-x', deb, 'x'], { cwd: cache });
    }
    const box = join(DOC, 'opencv4', 'html', 'box.mp4');
    if (!existsSync(box)) execFileSync('gunzip', ['-k', `${box}.gz`]);
    const data = join(DOC, 'examples', 'data');
    clips.push(join(data, 'tree.avi'), join(data, 'vtest.avi'), box, ...(all ? [join(data, 'Megamind.avi')] : []));
    return { clips: clips.filter(existsSync), note: null };
  } catch (err) {
    return { clips, note: `opencv-doc clips unavailable here (${(err as Error).message.split('\n')[0]}); measured on the committed sample only` };
  }
}
