/**
 * The sample clips the coding-efficiency table is measured on: the committed `test/fixtures/cup-4s.mp4` and,
 * where this machine can fetch Debian's `opencv-doc` package (`apt-get download`, no root needed),
 * its real clips: cup.mp4 (the full clip cup-4s is cut from), Megamind.avi, tree.avi. Kept under
 * `.cache/opencv-doc/` (git-ignored) after the first run. vtest.avi (80 s) is left to
 * `--all-clips`, as it alone takes minutes.
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
    const cup = join(DOC, 'opencv4', 'html', 'cup.mp4');
    if (!existsSync(cup)) execFileSync('gunzip', ['-k', `${cup}.gz`]);
    const data = join(DOC, 'examples', 'data');
    clips.push(cup, join(data, 'Megamind.avi'), join(data, 'tree.avi'), ...(all ? [join(data, 'vtest.avi')] : []));
    return { clips: clips.filter(existsSync), note: null };
  } catch (err) {
    return { clips, note: `opencv-doc clips unavailable here (${(err as Error).message.split('\n')[0]}); measured on the committed sample only` };
  }
}
