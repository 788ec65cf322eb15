// Development only: the local identity provider in a process of its own, so its CPU is never counted as the app's.
import { startIdentityProvider } from '../dev/idp/index.ts';
import type { IdpClient } from '../dev/idp/index.ts';

const clients = JSON.parse(process.env.BENCH_IDP_CLIENTS ?? '[]') as IdpClient[];
const idp = await startIdentityProvider({ port: Number(process.env.BENCH_IDP_PORT ?? 0), clients });
process.stdout.write(`${JSON.stringify({ origin: idp.origin, tenantId: idp.tenantId })}\n`);
process.once('SIGTERM', () => {
  idp.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
