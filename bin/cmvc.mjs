#!/usr/bin/env node
// The `cmvc` command. Runs the TypeScript sources through tsx so the CLI and the Worker share code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
