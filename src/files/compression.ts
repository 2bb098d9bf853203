// Compressed backup files: zstd through Debian's `zstd` command, gzip through Node's zlib.
//
// Why the zstd command and not a binding: Node 20's zlib has no zstd, zstd-napi compiles its bundled zstd
// at install (~27 s, needs g++) and @mongodb-js/zstd does not install here; the command is one Debian
// package (CI installs it). Measured on a 162 MB database of text and integers (bench/compress.js):
// zstd -3 -T2 0.88 s, ratio 8.2; gzip -6 11.2 s, ratio 2.0; brotli q3 2.5 s, ratio 7.6 (README).
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { EngineError } from '../engines/engine-errors.js';

export type Compression = 'zstd' | 'gzip';

/** The suffix a compressed file gets after its own name (snapshot.sqlite.zst). */
export const SUFFIX: Record<Compression, string> = { zstd: '.zst', gzip: '.gz' };

/** Compress `src` into `dest` (which must not exist). */
export async function compressFile(src: string, dest: string, how: Compression): Promise<void> {
  const out = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
  if (how === 'gzip') return pipeline(createReadStream(src), zlib.createGzip({ level: 6 }), out);
  // -3: the measured balance (-1 is 1.5x faster and 18 % larger); -T2: this kind of machine has 2 cores.
  return viaZstd(['-q', '-3', '-T2', '-c', '--', src], out);
}

/**
 * Decompress `src` into `dest` (which must not exist). A damaged file rejects (zstd and gzip check it).
 * `onChunk` sees every decompressed chunk in order, as it is written (to hash it on the same pass).
 */
export async function decompressFile(src: string, dest: string, how: Compression, onChunk?: (chunk: Buffer) => void): Promise<void> {
  const out = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
  const tap = onChunk ? [new Transform({ transform: (chunk: Buffer, _enc, done) => (onChunk(chunk), done(null, chunk)) })] : [];
  if (how === 'gzip') return pipeline([createReadStream(src), zlib.createGunzip(), ...tap, out]);
  return viaZstd(['-q', '-d', '-c', '--', src], out, tap);
}

function viaZstd(args: string[], out: NodeJS.WritableStream, tap: Transform[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('zstd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    const writing = pipeline([child.stdout, ...tap, out]);
    child.on('close', async (code, signal) => {
      const written = await writing.then(() => undefined, (err: Error) => err);
      if ((spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return reject(zstdMissing());
      if (spawnError) return reject(spawnError);
      if (written) return reject(written); // a full disk, say: that is the cause, not zstd's broken pipe
      if (code !== 0) return reject(new EngineError('checksum', `zstd failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').pop() ?? ''}`, { hint: 'the compressed file is damaged; pick another backup with: safe-run list' }));
      resolve();
    });
  });
}

function zstdMissing(): EngineError {
  return new EngineError('unsupported', 'the zstd command is not installed, and "compress": "zstd" in the config needs it', {
    hint: 'install it (Debian/Ubuntu: apt-get install zstd), or set "compress" to "gzip" or false in the config',
  });
}
