/**
 * Remembers `compute`'s result for the last `limit` keys (the oldest is forgotten first). For pure results that
 * readers never change: a compiled statement, a decoded token.
 */
export function memoizeBounded<V>(limit: number, compute: (key: string) => V): (key: string) => V {
  const results = new Map<string, V>();
  return (key) => {
    let result = results.get(key);
    if (result === undefined) {
      result = compute(key);
      const oldest = results.keys().next();
      if (results.size >= limit && !oldest.done) results.delete(oldest.value);
      results.set(key, result);
    }
    return result;
  };
}

/** A map that keeps the last `limit` keys set (the oldest set is forgotten first); setting a kept key replaces its value. */
export function createBoundedMap<V>(limit: number): { get(key: string): V | undefined; set(key: string, value: V): void } {
  const values = new Map<string, V>();
  return {
    get: (key) => values.get(key),
    set(key, value) {
      values.delete(key);
      const oldest = values.keys().next();
      if (values.size >= limit && !oldest.done) values.delete(oldest.value);
      values.set(key, value);
    },
  };
}
