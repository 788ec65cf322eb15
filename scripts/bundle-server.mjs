// Part of npm run build (scripts/build.mjs runs it after tsc): bundles the server's entry, src/server.ts, into
// dist/server.js and its chunks with esbuild, so that `npm start` loads a few files instead of some 390 modules (the
// warm start was mostly module resolution and loading). The commands (dist/cli/*) stay compiled file by file by tsc.
// Plain JavaScript, run with node in a process of its own: esbuild's plugins need its asynchronous API.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sources = path.join(projectRoot, 'src');
const output = path.join(projectRoot, 'dist');

/**
 * Packages loaded from node_modules at run time rather than bundled: native code and what resolves files by path
 * (better-sqlite3, Prisma's runtime and its WebAssembly, pino's worker threads), the libraries that only a sign-in or a
 * command needs (loaded lazily, and the module-trace tests look for them by path), and two whose bulk is data that
 * node reads faster unbundled (iconv-lite's encoding tables load on first use, mime-db is JSON).
 */
const EXTERNAL = [
  'better-sqlite3',
  '@prisma/*',
  'pg',
  'pino',
  'pino-pretty',
  'thread-stream',
  'jose',
  'simple-oauth2',
  '@peculiar/x509',
  'reflect-metadata',
  'iconv-lite',
  'mime-db',
];

/** Prisma's generated clients stay the modules tsc compiled (dist/generated/…): they find their files from where they sit. */
const generatedClientsApart = {
  name: 'generated-clients-apart',
  setup(build) {
    build.onResolve({ filter: /\/generated\/.*\.ts$/ }, (args) => {
      const file = path.resolve(args.resolveDir, args.path);
      const fromDist = path.relative(sources, file).replace(/\.ts$/, '.js').split(path.sep).join('/');
      return { path: `./${fromDist}`, external: true };
    });
  },
};

const esbuild = await import('esbuild');
await esbuild.build({
  absWorkingDir: projectRoot,
  entryPoints: { server: path.join(sources, 'server.ts') },
  outdir: output,
  // Every output file sits in dist/ itself, one folder below the project, as src/project-root.ts expects.
  chunkNames: 'server-chunk-[hash]',
  bundle: true,
  // The lazy import()s of the sources stay lazy: each becomes a chunk loaded when the code asks for it.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [generatedClientsApart],
  // The bundled CommonJS packages (express and its dependencies) call require: give each output file one of its own.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
