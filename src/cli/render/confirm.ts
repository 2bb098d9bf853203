// Ask the user to type a word (the database's name) to go ahead; Enter alone or anything else means no.
import { SafeRunError } from '../../errors.js';

export interface ConfirmOptions {
  /** What typing the word does: "restore", "continue" (the prompt reads `Type "app" to <action>`). */
  action?: string;
  /** What Enter does instead (the prompt reads `or press Enter to <decline>`). */
  decline?: string;
  /**
   * What Ctrl-C (or Esc) means: 'interrupt' rejects with an 'interrupted' error (exit 130, nothing
   * changed); 'decline' resolves false, for questions asked after something already happened.
   */
  onCancel?: 'interrupt' | 'decline';
}

/**
 * Resolves true only when the user typed `expected` exactly (surrounding spaces aside). The question
 * itself is the caller's to print first: prompts re-renders its message, and a message over several
 * lines leaves stale lines behind when the terminal is narrow.
 */
export async function confirmByTyping(expected: string, opts: ConfirmOptions = {}): Promise<boolean> {
  const { default: prompts } = await import('prompts'); // only loaded when asking
  let cancelled = false;
  const answer = (await prompts(
    {
      type: 'text',
      name: 'value',
      message: `Type "${expected}" to ${opts.action ?? 'continue'}, or press Enter to ${opts.decline ?? 'cancel'}`,
      stdout: process.stderr,
    },
    {
      onCancel: () => {
        cancelled = true;
        return false;
      },
    },
  )) as { value?: string };
  if (cancelled) {
    if (opts.onCancel === 'decline') return false;
    throw new SafeRunError('interrupted', 'cancelled; nothing was changed');
  }
  return answer.value?.trim() === expected;
}
