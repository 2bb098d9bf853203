// Colours for one output stream: on for a terminal, off with NO_COLOR, TERM=dumb or a pipe.
import kleur from 'kleur';

export type Paint = typeof kleur;

export function colourEnabled(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
}

/** kleur, switched on or off for `stream` (kleur has one global switch; we set it per render). */
export function paintFor(stream: NodeJS.WriteStream): Paint {
  kleur.enabled = colourEnabled(stream);
  return kleur;
}
