// safe-run show (being written).
import { SafeRunError } from '../../errors.js';

export const help = 'safe-run show — not available yet';

export async function run(): Promise<number> {
  throw new SafeRunError('usage', 'show is not available yet');
}
