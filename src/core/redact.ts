// Passwords in URLs (postgres://user:secret@host/db) are cut out of everything safe-run writes or prints
// about a command line: the log, the run header, show and the printed commands. The command itself still
// gets its arguments unchanged.

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s@/]*@/gi;
/** libpq's key=value form: password=secret inside a connection string. */
const KEYWORD_PASSWORD = /\b(password\s*=\s*)('[^']*'|[^\s]+)/gi;

/** `text` with every URL password (and libpq `password=`) replaced by "***". */
export function redactSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:***@').replace(KEYWORD_PASSWORD, '$1***');
}

export function redactArgv(argv: string[]): string[] {
  return argv.map(redactSecrets);
}
