import fs from 'node:fs';
import path from 'node:path';
import { sessionCookieName } from '../src/sessions/session-middleware.ts';
import type { BenchContext } from './bench-context.ts';
import { measureLoad } from './load.ts';
import type { Service } from './processes.ts';
import { startApp, startBare, startEoc } from './services.ts';
import type { Provider } from './services.ts';
import { appRoutes, assertSignedIn, cpuPerSignInInTurn, eocRoutes, eocSessionCookie, signIn } from './sign-in.ts';
import type { Comparison } from './stats.ts';
import { newComparison } from './stats.ts';

/** The target of CPU per sign-in: at most this ratio to express-openid-connect's (median of the rounds). */
export const SIGN_IN_CPU_TARGET = 0.8;

/** Escapes EJS's delimiter so the captured page is served byte for byte. */
function asTemplate(html: string): string {
  return html.replace(/<%/g, '<%%');
}

/**
 * CPU per sign-in against express-openid-connect, then the signed-out and signed-in pages under load against bare
 * Express + EJS serving the bytes captured from ours (written to `<workDirectory>/views`, which the starts reuse).
 */
export async function measurePagesAndSignIns(
  context: BenchContext,
  idp: Provider,
  ports: { app: number; eoc: number; bare: number },
): Promise<Comparison[]> {
  const { account, settings, progress, workDirectory } = context;
  const [app, eoc] = await Promise.all([
    startApp(context, idp.origin, ports.app, path.join(workDirectory, 'app.db')),
    startEoc(context, idp, ports.eoc),
  ]);
  const services: Service[] = [app, eoc];
  try {
    const viewsDirectory = path.join(workDirectory, 'views');
    fs.mkdirSync(viewsDirectory);
    const signedOutHtml = await (await fetch(`${app.url}/`)).text();
    const session = await signIn(appRoutes(app.url), account);
    const cookieName = sessionCookieName({ baseUrl: app.url });
    const cookie = `${cookieName}=${session.browser.cookie(cookieName)}`;
    const signedInHtml = await (await fetch(`${app.url}/`, { headers: { cookie } })).text();
    fs.writeFileSync(path.join(viewsDirectory, 'signed-out.ejs'), asTemplate(signedOutHtml));
    fs.writeFileSync(path.join(viewsDirectory, 'signed-in.ejs'), asTemplate(signedInHtml));
    const bare = await startBare(context, ports.bare, viewsDirectory);
    services.push(bare);
    const bareSignedOut = await (await fetch(`${bare.url}/`)).text();
    if (bareSignedOut !== signedOutHtml) throw new Error('the bare app does not serve the same bytes as our signed-out page');
    progress.log(
      `pages: signed out ${signedOutHtml.length} bytes, signed in ${signedInHtml.length} bytes; servers: app pid ${app.serverPid}, ` +
        `express-openid-connect pid ${eoc.serverPid}, bare pid ${bare.serverPid}`,
    );

    progress.logPhase('warming up');
    for (let index = 0; index < settings.warmUpSignIns; index += 1) {
      await signIn(appRoutes(app.url), account);
      await signIn(eocRoutes(eoc.url), account);
    }
    // Both sides of the sign-in comparison get the same warm-up: a sign-in ends on the signed-in page, so load on our
    // page alone would leave our shared code (HTTP, router, session, page) compiled hot and express-openid-connect's cold.
    const eocSession = await signIn(eocRoutes(eoc.url), account);
    const eocCookie = eocSessionCookie(eocSession.browser);
    await assertSignedIn(`${eoc.url}/`, eocCookie, account);
    const warmUp = { seconds: settings.warmUpLoadSeconds, connections: settings.connections };
    await measureLoad(`${app.url}/`, warmUp);
    await measureLoad(`${bare.url}/`, warmUp);
    await measureLoad(`${app.url}/`, { ...warmUp, cookie });
    await measureLoad(`${bare.url}/signed-in`, warmUp);
    await measureLoad(`${eoc.url}/`, warmUp);
    await measureLoad(`${eoc.url}/`, { ...warmUp, cookie: eocCookie });

    progress.logPhase('CPU per sign-in');
    const signInCpu = newComparison({
      key: 'sign-in-cpu',
      title: 'app CPU per complete sign-in',
      unit: 'ms',
      baselineName: 'express-openid-connect',
      target: { op: '<=', ratio: SIGN_IN_CPU_TARGET, everyRound: 1 },
    });
    for (let round = 1; round <= settings.rounds; round += 1) {
      const [ours, baseline] = await cpuPerSignInInTurn(
        [
          { service: app, routes: appRoutes(app.url) },
          { service: eoc, routes: eocRoutes(eoc.url) },
        ],
        account,
        settings.signInsPerRound,
      );
      signInCpu.ours.push(ours!);
      signInCpu.baseline.push(baseline!);
      progress.printRound(signInCpu, round);
    }

    progress.logPhase('signed-out page under load');
    const [signedOutRps, signedOutP99] = await comparePageLoad(
      context,
      'signed-out',
      { ours: `${app.url}/`, bare: `${bare.url}/` },
      { rps: { ratio: 0.7, everyRound: 0.6 }, p99: { ratio: 2 } },
    );
    progress.logPhase('signed-in page under load');
    const [signedInRps, signedInP99] = await comparePageLoad(
      context,
      'signed-in',
      { ours: `${app.url}/`, bare: `${bare.url}/signed-in`, cookie },
      { rps: { ratio: 0.4, everyRound: 0.25 }, p99: { ratio: 1.5 } },
    );
    return [signInCpu, signedOutRps, signedOutP99, signedInRps, signedInP99];
  } finally {
    await Promise.all(services.map((service) => service.stop()));
  }
}

/** req/s and p99 of one page, ours and the bare app's, round by round; a cookie is checked to still sign in before each round. */
async function comparePageLoad(
  context: BenchContext,
  page: string,
  urls: { ours: string; bare: string; cookie?: string },
  targets: { rps: { ratio: number; everyRound?: number }; p99: { ratio: number; everyRound?: number } },
): Promise<[Comparison, Comparison]> {
  const { settings, progress, account } = context;
  const baselineName = 'bare Express + EJS';
  const rps = newComparison({
    key: `${page}-rps`,
    title: `${page} page, req/s`,
    unit: 'req/s',
    baselineName,
    target: { op: '>=', ...targets.rps },
  });
  const p99 = newComparison({
    key: `${page}-p99`,
    title: `${page} page, p99 latency`,
    unit: 'ms',
    baselineName,
    target: { op: '<=', ...targets.p99 },
  });
  const load = { seconds: settings.loadSeconds, connections: settings.connections };
  for (let round = 1; round <= settings.rounds; round += 1) {
    if (urls.cookie !== undefined) await assertSignedIn(urls.ours, urls.cookie, account);
    const ours = await measureLoad(urls.ours, { ...load, cookie: urls.cookie });
    const bare = await measureLoad(urls.bare, load);
    rps.ours.push(ours.requestsPerSecond);
    rps.baseline.push(bare.requestsPerSecond);
    p99.ours.push(ours.p99Ms);
    p99.baseline.push(bare.p99Ms);
    progress.printRound(rps, round);
    progress.printRound(p99, round);
  }
  if (urls.cookie !== undefined) await assertSignedIn(urls.ours, urls.cookie, account);
  return [rps, p99];
}
