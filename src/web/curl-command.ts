// Pasted into a terminal, a control character acts as a keystroke (Enter, Ctrl-C, an escape sequence), quoted or not.
const CONTROL_CHARACTER = /\p{Cc}/u;

/** POSIX shell single quoting: nothing between single quotes is special, and a quote itself is written '\''. */
export function quoteForShell(argument: string): string {
  return `'${argument.replaceAll("'", "'\\''")}'`;
}

/**
 * The "Copy as curl" line, `curl -H 'Authorization: Bearer <token>' '<url>'`, every argument quoted for a POSIX shell
 * so that no character of the token or the URL can end the quoting; undefined when either holds a control character.
 */
export function buildCurlCommand(accessToken: string, url: string): string | undefined {
  const headerLine = `Authorization: Bearer ${accessToken}`;
  if (CONTROL_CHARACTER.test(headerLine) || CONTROL_CHARACTER.test(url)) return undefined;
  return ['curl', '-H', quoteForShell(headerLine), quoteForShell(url)].join(' ');
}
