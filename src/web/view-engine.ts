import path from 'node:path';
import ejs from 'ejs';
import { PROJECT_ROOT } from '../project-root.ts';

/** The templates' folder (views/ beside src/ and dist/). */
export const VIEWS_DIRECTORY = path.join(PROJECT_ROOT, 'views');

// unsafePrototypeLocals: EJS then reads the locals object it is given instead of copying it into one without a prototype
// on every call; renderWith builds that object itself, with no Object.prototype anywhere in its chain (see there).
const COMPILE_OPTIONS = Object.freeze({ root: VIEWS_DIRECTORY, unsafePrototypeLocals: true });
const BYTE_ORDER_MARK = /^\uFEFF/;

const compiledTemplates = new Map<string, ejs.TemplateFunction>();

/** The template in `file`, read and compiled the first time only: templates do not change while the app runs. */
function templateAt(file: string): ejs.TemplateFunction {
  let template = compiledTemplates.get(file);
  if (template === undefined) {
    const source = ejs.fileLoader(file).toString().replace(BYTE_ORDER_MARK, '');
    template = ejs.compile(source, { ...COMPILE_OPTIONS, filename: file }) as ejs.TemplateFunction;
    compiledTemplates.set(file, template);
  }
  return template;
}

/** The file of an include, named from views/ ('/partials/top'), as EJS names it with the `root` option. */
function includedFile(name: string): string {
  if (!name.startsWith('/')) throw new Error(`include('${name}'): name a partial by its path from views/, such as '/partials/top'`);
  return path.join(VIEWS_DIRECTORY, path.extname(name) === '' ? `${name}.ejs` : name);
}

/**
 * Renders a template with `locals` and with an `include(name, data)` of its own: the partial, compiled once, gets
 * these locals and `data`, as EJS's include would. EJS's include copies every compile option and resolves the path
 * again on each call (a tenth of the signed-out page's time in the bench profile); a template's body runs
 * `with (locals)`, so the `include` given in the locals is the one its `include(...)` calls.
 *
 * The scope has no prototype, and a partial's scope has its caller's as prototype with `data` on top: a template's
 * `with` finds the page's locals and the partial's arguments, never a name of Object.prototype (EJS's own guard against
 * prototype pollution, kept), and no partial copies the page's locals.
 */
function renderWith(template: ejs.TemplateFunction, parent: ejs.Data | null, data: ejs.Data | undefined): string {
  const scope = Object.create(parent) as ejs.Data;
  if (data !== undefined) Object.assign(scope, data);
  scope.include = (name: string, partialData?: ejs.Data) => renderWith(templateAt(includedFile(name)), scope, partialData);
  return template(scope);
}

/** Renders one template of views/ with these locals (the error page, which may be written straight to a socket). */
export function renderView(file: string, locals: ejs.Data): string {
  return renderWith(templateAt(file), null, locals);
}

/** Express's engine for views/ (`app.engine('ejs', renderViewForExpress)`); it calls back once. */
export function renderViewForExpress(file: string, locals: ejs.Data, callback: (error: Error | null, html?: string) => void): void {
  let html: string;
  try {
    html = renderView(file, locals);
  } catch (error) {
    callback(error instanceof Error ? error : new Error(String(error)));
    return;
  }
  callback(null, html);
}
