#!/usr/bin/env node
// The `par` command from the TypeScript sources through tsx, for tests: they exercise the code
// as it is in the checkout, never a dist/ that may be older (bin/par.js prefers dist/).
import { register } from 'tsx/esm/api';

register();
await import('../../src/cli/main.ts');
