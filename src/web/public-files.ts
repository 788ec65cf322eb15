import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { RequestHandler } from 'express';

/**
 * Serves the files of `directory` at their own paths (`/styles.css`). The files are listed once at start,
 * so every other request goes on to the routes without a look at the disk.
 */
export function servePublicFiles(directory: string): RequestHandler {
  const files = new Set(
    fs
      .readdirSync(directory, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => `/${path.relative(directory, path.join(entry.parentPath, entry.name)).split(path.sep).join('/')}`),
  );
  const serve = express.static(directory, { index: false, maxAge: '1h' });
  return (req, res, next) => {
    if (files.has(req.path)) serve(req, res, next);
    else next();
  };
}
