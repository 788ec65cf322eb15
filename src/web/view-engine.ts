import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';

/** The templates' folder (views/ beside src/ and dist/). */
export const VIEWS_DIRECTORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'views');

/**
 * How every template is rendered, by Express or straight to a socket: compiled once and cached by file name (so the
 * options must be the same for all), with includes named from views/ ('/partials/top'), which EJS resolves without
 * the existsSync probe it makes for a relative name on every include of every render.
 */
export const VIEW_OPTIONS = Object.freeze({ cache: true, root: VIEWS_DIRECTORY });

/** Renders one template of views/ with these locals (the error page written straight to a socket). */
export function renderView(file: string, locals: ejs.Data): Promise<string> {
  return ejs.renderFile(file, locals, VIEW_OPTIONS);
}

/** Express's engine for views/ (`app.engine('ejs', renderViewForExpress)`): EJS renders synchronously and calls back once. */
export function renderViewForExpress(file: string, locals: ejs.Data, callback: (error: Error | null, html?: string) => void): void {
  ejs.renderFile(file, locals, VIEW_OPTIONS, (error, html) => callback(error, html));
}
