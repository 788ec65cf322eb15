// npm install's last step: generates the Prisma client (src/generated/, which `npm run build` compiles and the tests
// and the demo import). Plain JavaScript, because it runs where tsx may be absent: `npm ci --omit=dev` installs
// neither tsx nor the Prisma CLI, and a production install then ships the dist/ that a full install built.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modules = path.join(projectRoot, 'node_modules');
const tools = ['tsx', 'prisma'];

if (tools.every((name) => fs.existsSync(path.join(modules, name, 'package.json')))) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'postgresql-schema.ts'), '--generate'], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
  process.exitCode = result.status ?? 1;
} else {
  process.stderr.write('o365-signin: development tools not installed (tsx, prisma): the Prisma client was not generated.\n');
}
