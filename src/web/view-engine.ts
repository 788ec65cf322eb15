import path from 'node:path';
import ejs from 'ejs';
import { PROJECT_ROOT } from '../project-root.ts';

/** The templates' folder (views/ beside src/ and dist/). */
export const VIEWS_DIRECTORY = path.join(PROJECT_ROOT, 'views');

// unsafePrototypeLocals: EJS then reads the locals object it is given instead of copying it into one without a prototype
// on every call; renderWith builds that object itself, with no Object.prototype anywhere in its chain (see there).
// strict: no `with (locals)` around the body. A name read inside `with` is looked up at run time, through the scope's
// whole prototype chain, on every read, and V8 never optimises a function that holds a `with`: partials/token-view.ejs
// with 22 claims took 94 µs a render over its first 200 renders, 12 µs without. The names a template reads are its
// variables instead (LOCALS_LINE).
// compileDebug (EJS's default, named because it is relied on): the body runs inside a `try` block, where the
// template's `include` variable may shadow the parameter of that name EJS passes its own include in.
const COMPILE_OPTIONS = Object.freeze({ root: VIEWS_DIRECTORY, unsafePrototypeLocals: true, strict: true, compileDebug: true });
const BYTE_ORDER_MARK = /^\uFEFF/;

/**
 * The line of a template that names what it reads from its locals: `<%# locals: title, notice -%>` (an EJS comment,
 * no output). Each becomes a variable of the template, read once from the locals (undefined when they lack it);
 * `include` always is one. A template without the line reads nothing but `include`. test/unit/view-engine.test.ts
 * checks every template of views/ with the TypeScript compiler: a name read but not declared fails it.
 */
const LOCALS_LINE = /^<%# locals: ([\w$]+(?:, [\w$]+)*) -%>$/m;

/** The names `source` declares on its LOCALS_LINE, with `include`. */
export function declaredLocals(source: string): string[] {
  const names = LOCALS_LINE.exec(source)?.[1]?.split(', ') ?? [];
  return ['include', ...names.filter((name) => name !== 'include')];
}

/** EJS's options for the template `file` whose text is `source`. */
export function compileOptionsFor(file: string, source: string): ejs.Options {
  return Object.assign({}, COMPILE_OPTIONS, { filename: file, destructuredLocals: declaredLocals(source) });
}

const compiledTemplates = new Map<string, ejs.TemplateFunction>();

/** The template in `file`, read and compiled the first time only: templates do not change while the app runs. */
function templateAt(file: string): ejs.TemplateFunction {
  let template = compiledTemplates.get(file);
  if (template === undefined) {
    const source = ejs.fileLoader(file).toString().replace(BYTE_ORDER_MARK, '');
    template = ejs.compile(source, compileOptionsFor(file, source)) as ejs.TemplateFunction;
    compiledTemplates.set(file, template);
  }
  return template;
}

/** The file of an include, named from views/ ('/partials/top'), as EJS names it with the `root` option. */
function includedFile(name: string): string {
  if (!name.startsWith('/')) throw new Error(`include('${name}'): name a partial by its path from views/, such as '/partials/top'`);
  return path.join(VIEWS_DIRECTORY, path.extname(name) === '' ? `${name}.ejs` : name);
}

const includedTemplates = new Map<string, ejs.TemplateFunction>();

/**
 * The template an include names, its file found the first time only: the names are the templates' own literals, and
 * the signed-in page includes a dozen partials, each a path.join and a lookup by file on every render otherwise.
 */
function includedTemplate(name: string): ejs.TemplateFunction {
  let template = includedTemplates.get(name);
  if (template === undefined) {
    template = templateAt(includedFile(name));
    includedTemplates.set(name, template);
  }
  return template;
}

/**
 * The scope a template runs with: its names as own properties, on a prototype shared by every scope that has no
 * prototype of its own (so not Object.prototype: a template's variables come from the page's locals and the partial's
 * arguments, never from a name of Object.prototype, EJS's own guard against prototype pollution, kept).
 *
 * A partial's scope is a copy of its caller's with `data` on top, not an object whose prototype is its caller's. An
 * object that becomes a prototype gets a hidden class of its own, which V8 keeps in the old generation; that class
 * points at the scope, and through it at everything the page was rendered from (the request's facts, its tokens): all
 * of it then outlived every minor collection until the next full one. Rendering the error page in a loop, each minor
 * collection kept 225–295 KB alive and moved it to the old generation (--trace-gc-nvp); with copies, 12–15 KB. A copy
 * costs a dozen property writes per include.
 */
const TemplateScope = function TemplateScope(this: ejs.Data) {} as unknown as new () => ejs.Data;
TemplateScope.prototype = Object.freeze(Object.create(null) as object);

/**
 * Renders a template with `locals` and with an `include(name, data)` of its own: the partial, compiled once, gets
 * these locals and `data`, as EJS's include would. EJS's include copies every compile option and resolves the path
 * again on each call (a tenth of the signed-out page's time in the bench profile); a template's `include` variable is
 * read from the scope, so the one given here is the one its `include(...)` calls.
 */
function renderWith(template: ejs.TemplateFunction, parent: ejs.Data | null, data: ejs.Data | undefined): string {
  const scope = Object.assign(new TemplateScope(), parent, data);
  scope.include = (name: string, partialData?: ejs.Data) => renderWith(includedTemplate(name), scope, partialData);
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
