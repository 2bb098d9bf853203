// Ask the user to type a word (the database's name) to go ahead; Enter alone or anything else means no.
import { SafeRunError } from '../../errors.js';

/**
 * Resolves true only when the user typed `expected` exactly. Ctrl-C (or Esc) rejects with an
 * 'interrupted' error, so the caller exits 130 with nothing changed.
 */
export async function confirmByTyping(question: string, expected: string): Promise<boolean> {
  const { default: prompts } = await import('prompts'); // only loaded when asking
  let cancelled = false;
  const answer = (await prompts(
    {
      type: 'text',
      name: 'value',
      message: `${question}\nType "${expected}" to continue, or press Enter to cancel`,
      stdout: process.stderr,
    },
    {
      onCancel: () => {
        cancelled = true;
        return false;
      },
    },
  )) as { value?: string };
  if (cancelled) throw new SafeRunError('interrupted', 'cancelled; nothing was changed');
  return answer.value?.trim() === expected;
}
