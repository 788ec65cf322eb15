// Pasted into a terminal, a control character acts as a keystroke (Enter, Ctrl-C, an escape sequence), quoted or not.
const CONTROL_CHARACTER = /\p{Cc}/u;

/** POSIX shell single quoting: nothing between single quotes is special, and a quote itself is written '\''. */
export function quoteForShell(argument: string): string {
  return `'${argument.replaceAll("'", "'\\''")}'`;
}

/**
 * The "Copy as curl" line, `curl -H 'Authorization: Bearer <token>' [-H '<header>' …] '<url>'`, every argument quoted for
 * a POSIX shell so that no character of the token, a header or the URL can end the quoting; undefined when any holds a
 * control character.
 */
export function buildCurlCommand(accessToken: string, url: string, headers: readonly string[] = []): string | undefined {
  const headerLines = [`Authorization: Bearer ${accessToken}`, ...headers];
  if ([...headerLines, url].some((argument) => CONTROL_CHARACTER.test(argument))) return undefined;
  return ['curl', ...headerLines.flatMap((line) => ['-H', quoteForShell(line)]), quoteForShell(url)].join(' ');
}
