// Quote words for a POSIX shell, so printed commands survive being pasted, stay on one line, and never
// carry a raw control character (an escape sequence in an argument would otherwise reach the terminal).

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** C0 controls, DEL and C1 controls (U+0080–U+009F: some terminals read U+009B as CSI). */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/**
 * One word, quoted only when it needs it. Single quotes keep everything literal in POSIX sh (`$`, `` ` ``,
 * `\`, spaces); a single quote itself is closed, escaped, and reopened: 'it'\''s'. A word with control
 * characters is written as `"$(printf '…')"` with octal escapes instead: one line, visible, and it works
 * in dash (Debian's sh), which has no `$'…'`. Four lines we can prove with a test beat a dependency whose
 * quoting style differs between versions.
 */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  if (!CONTROL.test(word)) return singleQuoted(word);
  // $(…) drops trailing newlines: those few stay literal inside single quotes (correct, just not one line).
  const tail = /\n+$/.exec(word)?.[0] ?? '';
  const head = word.slice(0, word.length - tail.length);
  return `"$(printf '${printfFormat(head)}')"${tail ? singleQuoted(tail) : ''}`;
}

export function shellJoin(words: string[]): string {
  return words.map(shellQuote).join(' ');
}

function singleQuoted(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `word` as a printf format that prints it back: control characters as 3-digit octal bytes of UTF-8. */
function printfFormat(word: string): string {
  let out = '';
  for (const ch of word) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '%') out += '%%';
    else if (ch === "'") out += `'\\''`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (CONTROL.test(ch)) for (const byte of Buffer.from(ch, 'utf8')) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return out;
}
