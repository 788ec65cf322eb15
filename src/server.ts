import './load-env.ts';
import { parseConfig } from './config.ts';
import { createDiscovery } from './auth/discovery.ts';
import { describeClientCredential } from './auth/client-credential.ts';
import { createProcessLogger } from './log.ts';

// npm start: the real app against Microsoft (or whatever O365_AUTHORITY_HOST names). Never starts the local provider.
const result = parseConfig(process.env);
if (!result.ok) {
  console.error('o365-signin cannot start. Fix these settings in .env (see .env.example):');
  for (const problem of result.problems) console.error(`  - ${problem}`);
  process.exit(1);
}
const { config, warnings } = result;
for (const warning of warnings) console.error(`warning: ${warning}`);

const logger = await createProcessLogger({ production: config.production });
// Ask for Microsoft's discovery document first: the network wait overlaps the loading of the rest of the app.
const discovery = createDiscovery(config, logger);
discovery.getMetadata().catch(() => {
  /* startServer awaits it and says what failed */
});
const { startServer } = await import('./start-server.ts');
try {
  const server = await startServer(config, logger, { discovery });
  const stop = () => {
    console.log('Stopping…');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`o365-signin is running: open ${config.baseUrl}/`);
  console.log(`Redirect URI sent to Microsoft (register exactly this one): ${config.redirectUri}`);
  console.log(`Client credential: ${describeClientCredential(config.clientCredential)}`);
} catch (error) {
  // A discovery document that does not fit the settings and a failed migration both carry a message that says what to fix.
  console.error(`o365-signin cannot start: ${(error as Error).message}`);
  process.exit(1);
}
