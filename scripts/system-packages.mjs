// The Debian packages the stack and its tests need on the machine itself (FFmpeg for `npm start`
// and every test layer, Chromium for the browser tests). Installed from Debian when run as root on a
// Debian/Ubuntu machine, as `npm start` always did for FFmpeg; otherwise one line says what to
// install, and exit code 1.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function aptInstall(pkg, quiet) {
  const stdio = quiet ? 'ignore' : 'inherit';
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', pkg], { stdio, env: APT_ENV }).status === 0;
  if (install()) return;
  // A fresh image has no package lists yet.
  execFileSync('apt-get', ['update', '-q'], { stdio, env: APT_ENV });
  if (!install()) throw new Error(`apt-get install ${pkg} failed`);
}

/**
 * Makes sure `present()` holds, installing Debian's `pkg` when it does not and this process may.
 * `hint` is the one line printed when it cannot install by itself.
 */
function ensurePackage({ pkg, present, hint, quiet = false }) {
  if (present()) return;
  const canInstall = process.getuid?.() === 0 && existsSync('/etc/debian_version') && onPath('apt-get');
  if (!canInstall) {
    console.error(`[setup] ${hint}`);
    process.exit(1);
  }
  if (!quiet) console.log(`[setup] installing ${pkg} from Debian packages…`);
  aptInstall(pkg, quiet);
  if (!present()) throw new Error(`${pkg} was installed but is still not usable`);
}

export function ensureFfmpeg({ quiet = false } = {}) {
  ensurePackage({
    pkg: 'ffmpeg',
    present: () => onPath('ffmpeg') && onPath('ffprobe'),
    hint: 'FFmpeg is missing: install it (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg), with ffmpeg and ffprobe on PATH, then run again.',
    quiet,
  });
}

/** The browser the end-to-end page tests drive: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export const chromiumPath = () => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function ensureChromium({ quiet = false } = {}) {
  const path = chromiumPath();
  ensurePackage({
    // Installing Debian's package only helps when the default path is the one asked for.
    pkg: 'chromium',
    present: () => existsSync(path),
    hint: `Chromium is missing at ${path}: install Debian's package (sudo apt-get install chromium), or set CHROMIUM_PATH to another Chromium or Chrome binary, then run again.`,
    quiet: quiet || process.env.CHROMIUM_PATH !== undefined,
  });
}
