// Quote words for a POSIX shell, so printed commands survive being pasted.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word, quoted only when it needs it. Single quotes keep everything literal in POSIX sh (`$`, `` ` ``,
 * `\`, spaces, newlines); a single quote itself is closed, escaped, and reopened: 'it'\''s'. Four lines
 * we can prove with a test beat a dependency whose quoting style (backslashes, double quotes) differs
 * between versions.
 */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(words: string[]): string {
  return words.map(shellQuote).join(' ');
}
