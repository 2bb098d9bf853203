// Where safe-run runs, as findings: a store or log that cannot be written, a file system that vanishes
// (a container's overlay, tmpfs, a serverless platform). Said once at start instead of failing each tick.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** One finding about where safe-run runs. */
export interface EnvironmentFinding {
  /** A stable code: "store-not-writable", "read-only-fs", "container-overlay", "serverless", … */
  code: string;
  /** warn: backups may vanish or fail; info: worth knowing. */
  severity: 'warn' | 'info';
  /** One line for a person ("the store /app/backups is on a container's overlay file system: …"). */
  message: string;
}

/** Platforms whose local file system is thrown away (or per instance), known by a variable they set. */
const EPHEMERAL_PLATFORMS: Array<[variable: string, platform: string]> = [
  ['AWS_LAMBDA_FUNCTION_NAME', 'AWS Lambda'],
  ['VERCEL', 'Vercel'],
  ['NETLIFY', 'Netlify'],
  ['K_SERVICE', 'Google Cloud Run (or Knative)'],
  ['FUNCTION_TARGET', 'Google Cloud Functions'],
  ['GAE_SERVICE', 'Google App Engine'],
  ['FUNCTIONS_WORKER_RUNTIME', 'Azure Functions'],
  ['WEBSITE_INSTANCE_ID', 'Azure App Service'],
  ['DYNO', 'Heroku'],
  ['FLY_APP_NAME', 'Fly.io'],
  ['RAILWAY_ENVIRONMENT', 'Railway'],
  ['RENDER_SERVICE_ID', 'Render'],
];

/** File system types that do not outlive the machine or the container. */
const VOLATILE_FS: Record<string, string> = {
  overlay: "a container's overlay file system: backups vanish with the container; mount a volume there",
  tmpfs: 'tmpfs (memory): backups vanish at the next reboot; point "backupDir" at a disk',
  ramfs: 'ramfs (memory): backups vanish at the next reboot; point "backupDir" at a disk',
};

export interface EnvironmentInput {
  /** The backup store's root. */
  storeDir: string;
  /** The operation log file. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** /proc/self/mountinfo (a parameter so that other mount tables can be read; Linux only). */
  mountinfo?: string;
}

/** Look around; never throws (a probe that cannot run finds nothing). Creates and writes nothing. */
export async function examineEnvironment(input: EnvironmentInput): Promise<EnvironmentFinding[]> {
  const env = input.env ?? process.env;
  const findings: EnvironmentFinding[] = [];
  for (const [variable, platform] of EPHEMERAL_PLATFORMS) {
    if (env[variable] !== undefined && env[variable] !== '') {
      findings.push({
        code: 'serverless',
        severity: 'warn',
        message: `running on ${platform} (${variable} is set): its local files do not last; keep the store on a volume, or set SAFE_RUN_DISABLE=1 to run without backups`,
      });
    }
  }
  for (const [what, dir] of [['the store', input.storeDir], ['the log', path.dirname(input.logFile)]] as const) {
    const problem = await notWritable(dir);
    if (problem) findings.push({ code: problem.code, severity: 'warn', message: `${what} ${dir} cannot be written: ${problem.why}` });
  }
  const mounts = input.mountinfo ?? (await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  const fsType = mounts ? fileSystemOf(await existingAncestor(input.storeDir), mounts) : undefined;
  if (fsType && VOLATILE_FS[fsType]) {
    findings.push({ code: fsType === 'overlay' ? 'container-overlay' : 'volatile-fs', severity: 'warn', message: `the store ${input.storeDir} is on ${VOLATILE_FS[fsType]}` });
  }
  return findings;
}

/**
 * Why `dir` (or, when it does not exist yet, the directory it would be made in) cannot be written;
 * undefined when it can. access(2) reports a read-only file system (EROFS) even to root.
 */
async function notWritable(dir: string): Promise<{ code: string; why: string } | undefined> {
  const existing = await existingAncestor(dir);
  try {
    await fs.access(existing, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return { code: 'read-only-fs', why: `${existing} is on a read-only file system` };
    if (code === 'EACCES' || code === 'EPERM') return { code: 'store-not-writable', why: `no permission to write in ${existing}` };
    return { code: 'store-not-writable', why: `${existing}: ${code ?? (err as Error).message}` };
  }
}

/** The nearest existing directory at or above `p`. */
async function existingAncestor(p: string): Promise<string> {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat?.isDirectory()) return fs.realpath(dir).catch(() => dir);
    if (path.dirname(dir) === dir) return dir;
  }
}

/** The type of the file system `dir` is on, from the longest mount point that holds it. */
export function fileSystemOf(dir: string, mountinfo: string): string | undefined {
  let best: { point: string; type: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = unescapeMount(left.split(' ')[4] ?? '');
    const type = right.split(' ')[0] ?? '';
    const inside = point === '/' || dir === point || dir.startsWith(point + '/');
    if (inside && (!best || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type;
}

/** mountinfo writes a space as \040, a tab \011, a newline \012, a backslash \134. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
