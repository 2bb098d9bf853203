// Choose one item from a list with the arrow keys (prompts' select), on stderr.
import { SafeRunError } from '../../errors.js';

export interface Choice<T> {
  title: string;
  value: T;
  /** Shown beside the highlighted choice. */
  description?: string;
  /** Listed but not selectable (e.g. a database without backups). */
  disabled?: boolean;
}

/** Resolves the chosen value; Ctrl-C (or Esc) rejects with an 'interrupted' error: exit 130, nothing changed. */
export async function selectOne<T>(message: string, choices: Choice<T>[], hint = '↑/↓ to move, Enter to choose, Ctrl-C to stop'): Promise<T> {
  const { default: prompts } = await import('prompts'); // only loaded when asking
  let cancelled = false;
  const answer = (await prompts(
    {
      type: 'select',
      name: 'value',
      message,
      hint,
      warn: 'not available',
      choices: choices.map((c) => ({ title: c.title, value: c.value, description: c.description, disabled: c.disabled })),
      initial: Math.max(0, choices.findIndex((c) => !c.disabled)),
      stdout: process.stderr,
      // in prompts' select but missing from its types: how many choices show at once
      ...({ optionsPerPage: Math.max(3, Math.min(15, (process.stderr.rows ?? 24) - 8)) } as object),
    },
    {
      onCancel: () => {
        cancelled = true;
        return false;
      },
    },
  )) as { value?: T };
  if (cancelled || !('value' in answer)) throw new SafeRunError('interrupted', 'cancelled; nothing was changed');
  return answer.value as T;
}
