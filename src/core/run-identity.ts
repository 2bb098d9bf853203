// Who and where: the fields every log record carries.
import os from 'node:os';
import { VERSION } from '../version.js';

export function whoAmI(): { user: string; host: string; pid: number; safeRunVersion: string } {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.LOGNAME ?? String(process.getuid?.() ?? '?');
  }
  return { user, host: os.hostname(), pid: process.pid, safeRunVersion: VERSION };
}
