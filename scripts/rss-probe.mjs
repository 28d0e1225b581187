// Loaded with `node --import` before a command: reports the process's peak resident memory (KiB) on exit, on stderr.
process.on('exit', () => {
  process.stderr.write(`\ncmvc-max-rss-kib=${process.resourceUsage().maxRSS}\n`);
});
