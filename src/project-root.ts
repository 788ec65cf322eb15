import { fileURLToPath } from 'node:url';

/**
 * The project folder (views/, prisma/, dev/ and .env.example beside src/ and dist/). This module sits one folder
 * below it, as does every file of the bundle that `npm run build` makes (dist/server.js and its chunks), so
 * import.meta.url names the same folder whether it runs from src/, from dist/ compiled file by file, or bundled.
 */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
