// Copies the ES-module builds of the web's npm dependencies into web/vendor/, with bare specifiers
// ("preact", "preact/hooks", ...) rewritten to relative paths, because the pages load plain ES modules
// with no build step and the CSP forbids an inline import map.
//
//   node tools/vendor.mjs          write web/vendor/ from web/node_modules
//   node tools/vendor.mjs --check  exit 1 when web/vendor/ differs from what the lockfile's packages produce
//
// The output is a pure function of the installed packages, so --check after `npm ci` proves that the
// committed files are exactly the lockfile's versions.

import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = join(WEB, 'node_modules');
const VENDOR = join(WEB, 'vendor');

// Bare specifier → vendored file (relative to web/vendor/).
const SPECIFIERS = {
  'preact': './preact.js',
  'preact/hooks': './preact-hooks.js',
  '@preact/signals-core': './signals-core.js',
  '@preact/signals': './signals.js',
  'htm': './htm.js',
  'idb': './idb.js',
};

// Each vendored file: which package, which file inside it, and how to turn it into an ES module.
const FILES = [
  { out: 'preact.js', pkg: 'preact', src: 'dist/preact.mjs' },
  { out: 'preact-hooks.js', pkg: 'preact', src: 'hooks/dist/hooks.mjs' },
  { out: 'htm.js', pkg: 'htm', src: 'dist/htm.mjs' },
  { out: 'signals-core.js', pkg: '@preact/signals-core', src: 'dist/signals-core.mjs' },
  { out: 'signals.js', pkg: '@preact/signals', src: 'dist/signals.mjs' },
  { out: 'idb.js', pkg: 'idb', src: 'build/index.js' },
  // MapLibre finds its worker beside itself by the name "maplibre-gl-worker.mjs": keep both names.
  { out: 'maplibre-gl.mjs', pkg: 'maplibre-gl', src: 'dist/maplibre-gl.mjs' },
  { out: 'maplibre-gl-worker.mjs', pkg: 'maplibre-gl', src: 'dist/maplibre-gl-worker.mjs' },
  { out: 'maplibre-gl.css', pkg: 'maplibre-gl', src: 'dist/maplibre-gl.css' },
  // ECharts ships its small build ("simple": line, bar, pie, grid, dataset, aria; canvas) only as UMD.
  // Given a local `exports` and `module`, the UMD wrapper fills them instead of a global.
  { out: 'echarts.js', pkg: 'echarts', src: 'dist/echarts.simple.min.js', umd: true },
];

function lockedVersions() {
  const lock = JSON.parse(readFileSync(join(WEB, 'package-lock.json'), 'utf8'));
  const out = {};
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path.startsWith('node_modules/') && !path.slice(13).includes('node_modules/')) out[path.slice(13)] = entry.version;
  }
  return out;
}

function rewriteSpecifiers(code, file) {
  // `from"x"`, `from 'x'`, `import"x"`, `import("x")` for the known bare specifiers only.
  const re = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'./][^"']*)\2/g;
  return code.replace(re, (whole, head, quote, spec) => {
    const target = SPECIFIERS[spec];
    if (!target) throw new Error(`${file}: unknown bare specifier "${spec}": add it to SPECIFIERS`);
    return `${head}${quote}${target}${quote}`;
  });
}

function build() {
  const locked = lockedVersions();
  const result = new Map();
  for (const f of FILES) {
    const pkgJson = JSON.parse(readFileSync(join(MODULES, f.pkg, 'package.json'), 'utf8'));
    if (locked[f.pkg] !== pkgJson.version) {
      throw new Error(`${f.pkg}: installed ${pkgJson.version}, lockfile says ${locked[f.pkg]}: run "npm ci" in web/`);
    }
    let code = readFileSync(join(MODULES, f.pkg, f.src), 'utf8');
    // Source maps are not vendored; a dangling reference would make devtools ask the server for them.
    code = code.replace(/\n?\/[/*][#@] sourceMappingURL=[^\n]*/g, '');
    const origin = `${f.pkg}@${pkgJson.version} ${f.src} (${pkgJson.license})`;
    if (f.out.endsWith('.css')) {
      result.set(f.out, `/* vendored by web/tools/vendor.mjs from ${origin} */\n${code}\n`);
      continue;
    }
    if (f.umd) {
      code = `var exports = {}, module = { exports: exports };\n${code}\nexport default module.exports;\n`;
    } else {
      code = rewriteSpecifiers(code, f.out);
    }
    result.set(f.out, `/* vendored by web/tools/vendor.mjs from ${origin} */\n${code}\n`);
  }
  return result;
}

function main() {
  const check = process.argv.includes('--check');
  const files = build();
  if (check) {
    const problems = [];
    for (const [name, content] of files) {
      const path = join(VENDOR, name);
      if (!existsSync(path)) problems.push(`missing: vendor/${name}`);
      else if (readFileSync(path, 'utf8') !== content) problems.push(`differs: vendor/${name}`);
    }
    const present = existsSync(VENDOR) ? readdirSync(VENDOR) : [];
    for (const name of present) if (!files.has(name)) problems.push(`not produced by the lockfile: vendor/${name}`);
    if (problems.length) {
      console.error(`web/vendor/ does not match web/package-lock.json:\n  ${problems.join('\n  ')}\nrun: cd web && npm ci && node tools/vendor.mjs`);
      process.exit(1);
    }
    console.log(`web/vendor/: ${files.size} files match the lockfile`);
    return;
  }
  rmSync(VENDOR, { recursive: true, force: true });
  mkdirSync(VENDOR, { recursive: true });
  for (const [name, content] of files) writeFileSync(join(VENDOR, name), content);
  console.log(`wrote ${files.size} files to web/vendor/`);
}

try {
  main();
} catch (e) {
  console.error(`vendor.mjs: ${e.message}`);
  process.exit(1);
}
