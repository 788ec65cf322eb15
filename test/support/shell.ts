import { spawnSync } from 'node:child_process';

/** Runs a pasted `curl …` line in a real POSIX shell with curl replaced by a function: the arguments curl would get. */
export function curlArgumentsOf(line: string): string[] {
  const result = spawnSync('/bin/sh', ['-c', `curl() { printf '%s\\0' "$@"; }\n${line}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sh exited ${result.status}: ${result.stderr}`);
  return result.stdout.split('\0').slice(0, -1);
}

/** The text of an HTML attribute value as EJS escapes it (&, <, >, " and '). */
export function unescapeHtml(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&#34;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');
}
