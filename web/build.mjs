// SPDX-License-Identifier: MIT
// build.mjs - bundle the dashboard: src/main.js (with uPlot and its CSS) into app.js + app.css,
// and copy src/index.html, into --outdir (default dist/). Run by `npm run build` here, and by
// CMake from the build tree (web/CMakeLists.txt), where node_modules lives in the build tree:
// --node-modules DIR says where.
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? path.resolve(args[i + 1]) : def;
};
const outdir = opt('--outdir', path.join(here, 'dist'));
const nodeModules = opt('--node-modules', path.join(here, 'node_modules'));
const require = createRequire(path.join(nodeModules, 'noop.js'));
const esbuild = require('esbuild');

mkdirSync(outdir, { recursive: true });
await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.js') },
  bundle: true,
  minify: !args.includes("--no-minify"),
  format: 'esm',
  target: ['es2020'],
  outdir,
  nodePaths: [nodeModules],
  legalComments: 'eof',
  logLevel: 'warning',
  // Reproducible output: no absolute paths, no timestamps.
  sourceRoot: '',
  charset: 'utf8',
});
copyFileSync(path.join(here, 'src', 'index.html'), path.join(outdir, 'index.html'));
