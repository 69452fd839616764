#!/usr/bin/env node
// The `edgebrain` command (package.json "bin"): loads the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
