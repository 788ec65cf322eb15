import assert from 'node:assert/strict';

/** What a stack or a server-side path looks like on a page: a frame, a file path of two or more folders, node_modules, file://. */
const LEAKS: readonly RegExp[] = [
  /\bat\s+(?:async\s+)?(?:[\w$.<>[\]]+\s+)?\(?(?:file:\/\/|node:|\/)[^\s)]*:\d+:\d+/,
  /(?:\/[\w.@-]+){2,}\.(?:[cm]?[jt]s|ejs|json)\b/,
  /node_modules/,
  /file:\/\//,
];

/** No page body holds a stack frame, a file path, node_modules or the project's folder. */
export function assertNoLeak(what: string, body: string): void {
  for (const leak of [...LEAKS, new RegExp(process.cwd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))]) {
    assert.doesNotMatch(body, leak, `${what}: ${body.match(leak)?.[0]}`);
  }
}
