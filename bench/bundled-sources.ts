import fs from 'node:fs';
import path from 'node:path';

/** The server's bundle (scripts/bundle-server.mjs): dist/server.js and its chunks, as a profile names them. */
const BUNDLE_FILE = /^dist\/server(-chunk-[A-Z0-9]+)?\.js$/;
/** esbuild's comment above each module it puts in a bundle: its path from the project folder. */
const MODULE_COMMENT = /^\/\/ (\S+\.[cm]?[jt]s)$/;

/** For each bundle file read: the first line (0-based) of each module in it and that module's path, in order. */
const modulesByFile = new Map<string, { line: number; source: string }[]>();

function modulesOf(projectRoot: string, file: string): { line: number; source: string }[] {
  let modules = modulesByFile.get(file);
  if (modules === undefined) {
    modules = [];
    let lines: string[] = [];
    try {
      lines = fs.readFileSync(path.join(projectRoot, file), 'utf8').split('\n');
    } catch {
      // Rebuilt or removed since the profile: the bundle's own name stays.
    }
    lines.forEach((text, line) => {
      const match = MODULE_COMMENT.exec(text);
      if (match !== null) modules!.push({ line, source: match[1]! });
    });
    modulesByFile.set(file, modules);
  }
  return modules;
}

/**
 * The source a bundled function comes from, so a profile of the bundle still reads by package and by our own files:
 * `file` (relative to the project) and `lineNumber` (0-based) as V8 gives them. Undefined when `file` is not the
 * server's bundle or the line comes before the first module.
 */
export function bundledSource(projectRoot: string, file: string, lineNumber: number): string | undefined {
  if (!BUNDLE_FILE.test(file)) return undefined;
  let source: string | undefined;
  for (const module of modulesOf(projectRoot, file)) {
    if (module.line > lineNumber) break;
    source = module.source;
  }
  return source;
}
