// Development only: per-instance in-memory storage for oidc-provider models (no timers, nothing persisted).
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

/** Creates an adapter factory whose models share one Map; expired entries are dropped when read. */
export function createMemoryAdapterFactory(): AdapterFactory {
  const entries = new Map<string, Entry>();

  const read = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [entryKey, entry] of entries) {
      if (entry.expiresAt <= now) entries.delete(entryKey);
    }
  };

  return (model: string): Adapter => {
    const key = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        if (entries.size > 1000) sweep();
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        entries.set(key(id), { payload, expiresAt });
      },
      async find(id) {
        return read(key(id));
      },
      async findByUid(uid) {
        for (const [entryKey, entry] of entries) {
          if (entryKey.startsWith(`${model}:`) && entry.payload.uid === uid) return read(entryKey);
        }
        return undefined;
      },
      async findByUserCode(userCode) {
        for (const [entryKey, entry] of entries) {
          if (entryKey.startsWith(`${model}:`) && entry.payload.userCode === userCode) return read(entryKey);
        }
        return undefined;
      },
      async consume(id) {
        // Microsoft: "Refresh tokens aren't revoked when used to acquire new access tokens"
        // (learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token).
        if (model === 'RefreshToken') return;
        const payload = read(key(id));
        if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(key(id));
      },
      async revokeByGrantId(grantId) {
        for (const [entryKey, entry] of entries) {
          if (entryKey.startsWith(`${model}:`) && entry.payload.grantId === grantId) entries.delete(entryKey);
        }
      },
    };
  };
}
