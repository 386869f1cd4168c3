// Builds the console's assets: src/console.js and src/console.css (with the
// packages they import) bundled into console.js and console.css, minified,
// licences kept at the end of each file. The output depends only on the
// sources and the locked packages, so a rebuild gives the same bytes.
//
//   node build.mjs             writes ../assets (internal/console/assets)
//   node build.mjs --out DIR   writes DIR instead
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const outdir = values.out ? resolve(values.out) : resolve(here, '../assets');
mkdirSync(outdir, { recursive: true });

// The bundled packages' licences are written at the end of each file, as
// their own headers are not kept by the minifier.
function licence(pkg) {
  const dir = resolve(here, 'node_modules', pkg);
  const meta = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8'));
  const text = readFileSync(resolve(dir, 'LICENSE'), 'utf8').trim().replaceAll('*/', '* /');
  return `/*! ${meta.name} ${meta.version} (${meta.license}) ${meta.homepage ?? ''}\n\n${text}\n*/`;
}

await esbuild.build({
  absWorkingDir: here,
  entryPoints: ['src/console.js', 'src/console.css'],
  entryNames: '[name]',
  outdir,
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'es2020',
  sourcemap: false,
  legalComments: 'eof',
  footer: {
    js: [licence('htmx.org'), licence('uplot')].join('\n'),
    css: licence('uplot'),
  },
  charset: 'ascii',
  logLevel: 'info',
});
