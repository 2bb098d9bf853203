// safe-run diff (being written).
import { SafeRunError } from '../../errors.js';

export const help = 'safe-run diff — not available yet';

export async function run(): Promise<number> {
  throw new SafeRunError('usage', 'diff is not available yet');
}
