// The module hooks of module-trace.mjs: each ES module (and each CommonJS one reached by import) is written down before
// it loads, synchronously, so the list is complete whenever the process exits.
import fs from 'node:fs';

let file;

export function initialize(data) {
  file = data.file;
}

export function load(url, context, nextLoad) {
  fs.appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
