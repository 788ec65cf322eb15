import fs from 'node:fs';
import path from 'node:path';

// A reader of TypeScript just deep enough to find comparisons: it splits the source into tokens (comments dropped;
// strings, templates and regular expressions kept whole, so text inside them never counts), then looks at the
// operands of ===, !==, ==, != and of calls such as includes or indexOf. An operand is a secret when the value it
// reads is named like one (csrfToken, _csrf, state, nonce, codeVerifier, client_secret, appKey, tokenEncryptionKey …)
// or is a local constant that holds one (`const expected = req.session.csrfToken`). What it does not follow: a variable
// assigned a secret after its declaration, and a secret passed to a function whose parameter has a plain name.

/** One comparison of a secret that is not made in constant time. */
export interface SecretComparison {
  readonly file: string;
  readonly line: number;
  /** That line of the source. */
  readonly text: string;
}

interface Token {
  readonly kind: 'name' | 'punct' | 'string' | 'number' | 'regex';
  readonly text: string;
  readonly line: number;
}

/** Words that make a name a secret wherever they stand in it (camelCase, snake_case and SCREAMING_CASE alike). */
const SECRET_WORDS = new Set(['csrf', 'state', 'nonce', 'verifier', 'secret', 'password', 'passphrase']);
/** Words before a last word "key" or "keys" that make it key material (a bare "key" is a map key or a public JWK). */
const KEY_QUALIFIERS = new Set(['encryption', 'app', 'private', 'secret', 'client', 'api', 'session', 'hmac']);
/** A last word that names something about a secret, not the secret itself (its length, its file, its id …). */
const NOT_THE_VALUE = new Set(['id', 'ids', 'length', 'size', 'path', 'file', 'url', 'name', 'count', 'kind', 'at', 'hint']);
/** Methods that compare or search with their receiver and arguments in ordinary (early-exit) time. */
const COMPARING_METHODS = new Set([
  'includes',
  'indexOf',
  'lastIndexOf',
  'startsWith',
  'endsWith',
  'localeCompare',
  'equals',
  'compare',
  'is',
  'has',
  'get',
]);
/** Methods and functions that return their input's value (so a secret stays a secret through them). */
const VALUE_KEEPING_METHODS = new Set(['trim', 'toLowerCase', 'toUpperCase', 'normalize', 'toString', 'valueOf']);
const VALUE_KEEPING_FUNCTIONS = new Set(['String', 'decodeURIComponent', 'encodeURIComponent', 'from']);
const CONSTANT_NAMES = new Set(['undefined', 'null', 'true', 'false']);
/** After these names an expression starts, so a slash begins a regular expression. */
const KEYWORDS_BEFORE_EXPRESSION = new Set([
  'return',
  'typeof',
  'case',
  'do',
  'else',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'instanceof',
  'yield',
  'await',
]);
const PUNCTUATORS = [
  '>>>=',
  '...',
  '===',
  '!==',
  '**=',
  '<<=',
  '>>=',
  '&&=',
  '||=',
  '??=',
  '=>',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '??',
  '?.',
  '++',
  '--',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
];
const EQUALITY = new Set(['===', '!==', '==', '!=']);

/** The words of an identifier: expectedNonce → expected, nonce; TOKEN_ENCRYPTION_KEY → token, encryption, key. */
function wordsOf(name: string): string[] {
  return name
    .replace(/^[#_$]+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_$]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase());
}

/** True for a name that holds a secret by its words: csrfToken, _csrf, state, expectedNonce, codeVerifier, appKey … */
export function isSecretName(name: string): boolean {
  const words = wordsOf(name);
  const last = words.at(-1);
  if (last === undefined || NOT_THE_VALUE.has(last)) return false;
  if (words.some((word) => SECRET_WORDS.has(word))) return true;
  return (last === 'key' || last === 'keys') && words.length > 1 && KEY_QUALIFIERS.has(words.at(-2)!);
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const braces: ('brace' | 'template')[] = [];
  let line = 1;
  let i = 0;
  const push = (kind: Token['kind'], text: string, at: number) => tokens.push({ kind, text, line: at });
  const regexMayStart = () => {
    const previous = tokens.at(-1);
    if (previous === undefined) return true;
    if (previous.kind === 'name') return KEYWORDS_BEFORE_EXPRESSION.has(previous.text);
    return previous.kind === 'punct' && ![')', ']', '}'].includes(previous.text);
  };
  const scanTemplate = () => {
    const start = line;
    let text = '';
    while (i < source.length) {
      const char = source[i]!;
      if (char === '\\') {
        text += source.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (char === '`') {
        i += 1;
        push('string', text, start);
        return;
      }
      if (char === '$' && source[i + 1] === '{') {
        i += 2;
        push('string', text, start);
        braces.push('template');
        return;
      }
      if (char === '\n') line += 1;
      text += char;
      i += 1;
    }
    push('string', text, start);
  };
  while (i < source.length) {
    const char = source[i]!;
    if (char === '\n') {
      line += 1;
      i += 1;
    } else if (/\s/.test(char)) {
      i += 1;
    } else if (source.startsWith('//', i)) {
      i = source.indexOf('\n', i);
      if (i === -1) i = source.length;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      line += source.slice(i, stop).split('\n').length - 1;
      i = stop;
    } else if (char === "'" || char === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== char && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      push('string', source.slice(i + 1, j), line);
      i = j + 1;
    } else if (char === '`') {
      i += 1;
      scanTemplate();
    } else if (char === '/' && regexMayStart()) {
      let j = i + 1;
      let inClass = false;
      while (j < source.length && source[j] !== '\n' && (inClass || source[j] !== '/')) {
        if (source[j] === '\\') j += 1;
        else if (source[j] === '[') inClass = true;
        else if (source[j] === ']') inClass = false;
        j += 1;
      }
      j += 1;
      while (j < source.length && /[a-z]/i.test(source[j]!)) j += 1;
      push('regex', source.slice(i, j), line);
      i = j;
    } else if (/[A-Za-z_$#]/.test(char)) {
      const name = /^[#]?[A-Za-z_$][\w$]*/.exec(source.slice(i, i + 200))![0];
      push('name', name, line);
      i += name.length;
    } else if (/[0-9]/.test(char)) {
      const number = /^[0-9][\w.]*/.exec(source.slice(i, i + 100))![0];
      push('number', number, line);
      i += number.length;
    } else if (char === '{') {
      braces.push('brace');
      push('punct', char, line);
      i += 1;
    } else if (char === '}') {
      i += 1;
      if (braces.pop() === 'template') scanTemplate();
      else push('punct', char, line);
    } else {
      const punctuator = PUNCTUATORS.find((candidate) => source.startsWith(candidate, i)) ?? char;
      push('punct', punctuator, line);
      i += punctuator.length;
    }
  }
  return tokens;
}

const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** The index of the bracket that closes (or, going back, opens) the one at `index`. */
function matching(tokens: readonly Token[], index: number): number {
  const open = tokens[index]!.text;
  const forward = open in OPENERS;
  const partner = forward ? OPENERS[open] : CLOSERS[open];
  let depth = 0;
  for (let j = index; j >= 0 && j < tokens.length; j += forward ? 1 : -1) {
    if (tokens[j]!.kind !== 'punct') continue;
    if (tokens[j]!.text === open) depth += 1;
    else if (tokens[j]!.text === partner && --depth === 0) return j;
  }
  return forward ? tokens.length - 1 : 0;
}

const isOperandEnd = (token: Token | undefined) =>
  token !== undefined && (token.kind !== 'punct' || [')', ']'].includes(token.text)) && !KEYWORDS_BEFORE_EXPRESSION.has(token.text);

/** The member chain that ends at `end` (a.b?.c(d)[e]!), as the index of its first token. */
function chainStartBefore(tokens: readonly Token[], end: number): number {
  let j = end;
  for (;;) {
    const token = tokens[j];
    if (token === undefined) return j + 1;
    if (token.kind === 'punct' && token.text === '!' && isOperandEnd(tokens[j - 1])) {
      j -= 1;
    } else if (token.kind === 'punct' && (token.text === ')' || token.text === ']')) {
      const open = matching(tokens, j);
      let before = open - 1;
      if (tokens[before]?.text === '?.') before -= 1;
      if (!isOperandEnd(tokens[before])) return open;
      j = before;
    } else if (token.kind !== 'punct') {
      if (tokens[j - 1]?.text !== '.' && tokens[j - 1]?.text !== '?.') return j;
      j -= 2;
    } else {
      return j + 1;
    }
  }
}

/** The operand that starts at `start`: its tokens, or 'computed' for one behind typeof, !, -, + or void. */
function chainAfter(tokens: readonly Token[], start: number): Token[] | 'computed' {
  let j = start;
  while (tokens[j]?.text === 'await') j += 1;
  const first = tokens[j];
  if (first === undefined) return [];
  if (['typeof', 'void', '!', '-', '+', '~'].includes(first.text)) return 'computed';
  const begin = j;
  if (first.kind === 'punct' && first.text in OPENERS) j = matching(tokens, j);
  for (j += 1; j < tokens.length; ) {
    const token = tokens[j]!;
    if ((token.text === '.' || token.text === '?.') && tokens[j + 1]?.kind === 'name') j += 2;
    else if (token.text === '?.' && (tokens[j + 1]?.text === '(' || tokens[j + 1]?.text === '[')) j = matching(tokens, j + 1) + 1;
    else if (token.text === '(' || token.text === '[') j = matching(tokens, j) + 1;
    else if (token.text === '!' && !['(', '['].includes(tokens[j + 1]?.text ?? '')) j += 1;
    else break;
  }
  return tokens.slice(begin, j);
}

type Operand = 'secret' | 'constant' | 'other';

/** What an operand's tokens read: a secret, a constant (literal, undefined, null, a typeof), or anything else. */
function operandOf(chain: readonly Token[] | 'computed', before: Token | undefined, secretLocals: ReadonlySet<string>): Operand {
  if (chain === 'computed' || (before !== undefined && ['typeof', '!', 'void', '-', '+', '~'].includes(before.text))) return 'constant';
  let tokens = chain.slice();
  for (;;) {
    while (tokens.at(-1)?.text === '!') tokens = tokens.slice(0, -1);
    const last = tokens.at(-1);
    if (last === undefined) return 'other';
    if (tokens.length === 1) {
      if (last.kind !== 'name') return 'constant';
      if (isSecretName(last.text) || secretLocals.has(last.text)) return 'secret';
      // undefined, null, booleans, and module constants by their SCREAMING_CASE name (a set of SQLSTATE codes …).
      return CONSTANT_NAMES.has(last.text) || /^[A-Z][A-Z0-9_]*$/.test(last.text) ? 'constant' : 'other';
    }
    if (last.text === ')') {
      const open = matching(tokens, tokens.length - 1);
      const callee = tokens[open - 1];
      if (callee?.kind === 'name' && VALUE_KEEPING_METHODS.has(callee.text) && ['.', '?.'].includes(tokens[open - 2]?.text ?? '')) {
        tokens = tokens.slice(0, open - 2);
        continue;
      }
      if (open === 0) {
        // A parenthesized expression: what it starts with (`(a ?? b)`, `(x as T)`).
        return operandOf(chainAfter(tokens, 1), undefined, secretLocals);
      }
      if (callee?.kind === 'name' && VALUE_KEEPING_FUNCTIONS.has(callee.text)) {
        const argument = chainAfter(tokens, open + 1);
        return operandOf(argument, undefined, secretLocals);
      }
      return 'other';
    }
    if (last.text === ']') {
      const open = matching(tokens, tokens.length - 1);
      const index = tokens.slice(open + 1, -1);
      return index.length === 1 && index[0]!.kind === 'string' && isSecretName(index[0]!.text) ? 'secret' : 'other';
    }
    return last.kind === 'name' && isSecretName(last.text) ? 'secret' : 'other';
  }
}

/** The arguments of the call whose `(` is at `open`, each as its leading operand's tokens. */
function argumentsOf(tokens: readonly Token[], open: number): (Token[] | 'computed')[] {
  const close = matching(tokens, open);
  const found: (Token[] | 'computed')[] = [];
  let start = open + 1;
  for (let j = open + 1; j <= close; j += 1) {
    const token = tokens[j]!;
    if (token.kind === 'punct' && token.text in OPENERS) j = matching(tokens, j);
    else if (j === close || (token.kind === 'punct' && token.text === ',')) {
      if (j > start) found.push(chainAfter(tokens.slice(0, j), start));
      start = j + 1;
    }
  }
  return found;
}

/** Local names (const, let, var, destructured) whose value is a secret, found again until nothing changes. */
function secretLocalsOf(tokens: readonly Token[]): Set<string> {
  const locals = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    const add = (name: string) => {
      if (!locals.has(name) && !isSecretName(name)) {
        locals.add(name);
        changed = true;
      }
    };
    for (let i = 0; i < tokens.length; i += 1) {
      if (!['const', 'let', 'var'].includes(tokens[i]!.text) || tokens[i]!.kind !== 'name') continue;
      const target = tokens[i + 1];
      if (target?.text === '{') {
        // const { csrfToken: expected } = …: the alias of a secret property is a secret.
        const close = matching(tokens, i + 1);
        for (let j = i + 2; j < close; j += 1) {
          if (tokens[j + 1]?.text === ':' && isSecretName(tokens[j]!.text) && tokens[j + 2]?.kind === 'name') add(tokens[j + 2]!.text);
        }
        continue;
      }
      if (target?.kind !== 'name') continue;
      // Skip a type annotation up to the `=` at this depth.
      let j = i + 2;
      for (let depth = 0; j < tokens.length; j += 1) {
        const text = tokens[j]!.text;
        if ((text === '=' || text === ';') && depth === 0) break;
        if (['(', '[', '{', '<'].includes(text)) depth += 1;
        if ([')', ']', '}', '>'].includes(text)) depth -= 1;
        // Past the end of a `for (const x of …)` head: no initializer.
        if (depth < 0) break;
      }
      if (tokens[j]?.text !== '=') continue;
      const value = chainAfter(tokens, j + 1);
      if (value === 'computed' || value.length === 0) continue;
      const after = tokens[j + 1 + value.length + (tokens[j + 1]?.text === 'await' ? 1 : 0)];
      const whole = after === undefined || [';', ',', ')', '??', '||', 'as', 'satisfies'].includes(after.text);
      if (whole && operandOf(value, tokens[j], locals) === 'secret') add(target.text);
    }
  }
  return locals;
}

/** Every comparison of a secret in one file's source that is not made in constant time. */
export function findSecretComparisons(source: string, file = '<source>'): SecretComparison[] {
  const tokens = tokenize(source);
  const locals = secretLocalsOf(tokens);
  const lines = source.split('\n');
  const found: SecretComparison[] = [];
  // The comparison's first token names the line; the finding shows that line of the source.
  const report = (from: number) => {
    const line = tokens[from]!.line;
    found.push({ file, line, text: lines[line - 1]!.trim() });
  };
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && EQUALITY.has(token.text)) {
      const start = chainStartBefore(tokens, i - 1);
      const left = operandOf(tokens.slice(start, i), tokens[start - 1], locals);
      const rightChain = chainAfter(tokens, i + 1);
      const right = operandOf(rightChain, undefined, locals);
      const sides = [left, right];
      if (sides.includes('secret') && !sides.includes('constant')) report(start);
    } else if (
      token.kind === 'name' &&
      COMPARING_METHODS.has(token.text) &&
      ['.', '?.'].includes(tokens[i - 1]?.text ?? '') &&
      tokens[i + 1]?.text === '('
    ) {
      const start = chainStartBefore(tokens, i - 2);
      const receiver = operandOf(tokens.slice(start, i - 1), tokens[start - 1], locals);
      const operands = [receiver, ...argumentsOf(tokens, i + 1).map((argument) => operandOf(argument, undefined, locals))];
      if (operands.includes('secret') && !operands.includes('constant')) report(start);
    } else if (token.kind === 'name' && token.text === 'switch' && tokens[i + 1]?.text === '(') {
      if (operandOf(chainAfter(tokens, i + 2), undefined, locals) === 'secret') report(i);
    }
  }
  return found;
}

/** Every comparison of a secret in the TypeScript files under `folder` (generated code left out). */
export function findSecretComparisonsIn(folder: string): { files: string[]; comparisons: SecretComparison[] } {
  const files = fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.split(path.sep).includes('generated'))
    .map((name) => path.join(folder, name))
    .sort();
  return {
    files,
    comparisons: files.flatMap((file) => findSecretComparisons(fs.readFileSync(file, 'utf8'), path.relative(process.cwd(), file))),
  };
}
