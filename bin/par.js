#!/usr/bin/env node
// Entry point of the `par` command. Loads TypeScript sources through tsx so that no build step
// stands between a checkout and a running system.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
