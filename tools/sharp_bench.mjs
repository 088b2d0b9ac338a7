#!/usr/bin/env node
// sharp's resize-only path, timed in-process, for `kycprep bench --compare`.
//
// Usage: node tools/sharp_bench.mjs --sharp-dir DIR [--repeat R] [--warmup W]
//                                   [--short-side 720] [--quality 90] FILE...
//
// DIR is an npm prefix holding node_modules/sharp, e.g. after
//   npm install --prefix ~/.cache/kycprep-sharp sharp
// (sharp >= 0.33 brings its own libvips as @img/sharp-libvips-linux-x64).
//
// Every file is read into memory first (I/O is not timed). Then, W untimed
// and R timed passes over all files, one image at a time, each:
//   sharp(buffer).rotate()                      // EXIF autorotate
//     .resize({width: S, height: S, fit: 'outside'})  // short side S
//     .jpeg({quality: Q}).toBuffer() -> .toString('base64')
// with sharp.concurrency(1) (one libvips worker) and sharp.cache(false), so
// that a repeat never reuses a cached operation. No face detection: this is
// the fastest peer's floor for the same output size.
//
// Prints one JSON object on stdout:
//   {"sharp": "0.35.5", "libvips": "8.18.7", "concurrency": 1,
//    "files": [{"path", "ms": [per repeat], "width", "height", "bytes", "error"?}]}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

function parseArgs(argv) {
  const a = { sharpDir: '', repeat: 3, warmup: 1, shortSide: 720, quality: 90, files: [] };
  for (let i = 0; i < argv.length; ++i) {
    const v = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${v} needs a value`);
      return argv[++i];
    };
    if (v === '--sharp-dir') a.sharpDir = next();
    else if (v === '--repeat') a.repeat = Number(next());
    else if (v === '--warmup') a.warmup = Number(next());
    else if (v === '--short-side') a.shortSide = Number(next());
    else if (v === '--quality') a.quality = Number(next());
    else if (v === '--help' || v === '-h') {
      process.stdout.write('usage: node sharp_bench.mjs --sharp-dir DIR [--repeat R] [--warmup W] FILE...\n');
      process.exit(0);
    } else a.files.push(v);
  }
  return a;
}

async function once(sharp, buf, a) {
  const { data, info } = await sharp(buf)
    .rotate()
    .resize({ width: a.shortSide, height: a.shortSide, fit: 'outside' })
    .jpeg({ quality: a.quality })
    .toBuffer({ resolveWithObject: true });
  const b64 = data.toString('base64');
  return { width: info.width, height: info.height, bytes: data.length, b64len: b64.length };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let sharp;
  try {
    const require = createRequire(join(a.sharpDir || process.cwd(), 'package.json'));
    sharp = require('sharp');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: `cannot load sharp from ${a.sharpDir}: ${e.message}` }) + '\n');
    process.exit(3);
  }
  sharp.concurrency(1);
  sharp.cache(false);
  const files = a.files.map((path) => ({ path, buf: readFileSync(path), ms: [], error: null, out: null }));
  for (let pass = 0; pass < a.warmup + a.repeat; ++pass) {
    for (const f of files) {
      if (f.error) continue;
      try {
        const t0 = performance.now();
        const out = await once(sharp, f.buf, a);
        const t1 = performance.now();
        if (pass >= a.warmup) f.ms.push(t1 - t0);
        f.out = out;
      } catch (e) {
        f.error = e.message;
      }
    }
  }
  const report = {
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    concurrency: sharp.concurrency(),
    files: files.map((f) => ({
      path: f.path,
      ms: f.ms,
      width: f.out ? f.out.width : 0,
      height: f.out ? f.out.height : 0,
      bytes: f.out ? f.out.bytes : 0,
      ...(f.error ? { error: f.error } : {}),
    })),
  };
  process.stdout.write(JSON.stringify(report) + '\n');
}

main();
