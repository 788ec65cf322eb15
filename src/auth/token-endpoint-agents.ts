import type http from 'node:http';
import type https from 'node:https';

/** An idle connection to the token endpoint closes after this long: well before a server drops it on its own. */
const IDLE_CONNECTION_MS = 15_000;

/** The agents @hapi/wreck (under simple-oauth2) sends through, one for each of its kinds of request. */
export interface TokenEndpointAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  readonly httpsAllowUnauthorized: https.Agent;
}

/**
 * `agent`, marked so that @hapi/hoek's clone returns it as it is (lib/clone.js: an object whose prototype says
 * `isImmutable`). simple-oauth2 deep-copies its `http` options with Hoek, and a copied Agent is a broken one: its pool
 * of free sockets and the listeners that fill it stay with the original, so no connection would ever be reused.
 */
function keptAsIs<T extends http.Agent>(agent: T): T {
  const prototype = Object.create(Object.getPrototypeOf(agent) as object, { isImmutable: { value: true } }) as object;
  return Object.setPrototypeOf(agent, prototype) as T;
}

/**
 * Keep-alive agents for the token endpoint, one set per process as Node's own global agents are. A sign-in or refresh
 * then reuses the connection of the one before (at Microsoft: the TLS session too) instead of opening its own, as
 * @hapi/wreck's default agents do. Idle connections close after IDLE_CONNECTION_MS, or sooner when the server's
 * `Keep-Alive: timeout` says so (Node reads it); they never keep the process running. Node's HTTP clients (and TLS) load
 * here, at the first token request: not at start, and not for `npm run token` when it prints a cached token.
 */
export async function createTokenEndpointAgents(): Promise<TokenEndpointAgents> {
  const [{ default: http }, { default: https }] = await Promise.all([import('node:http'), import('node:https')]);
  const options = { keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, timeout: IDLE_CONNECTION_MS };
  return {
    http: keptAsIs(new http.Agent(options)),
    https: keptAsIs(new https.Agent(options)),
    // Wreck's agent for rejectUnauthorized: false, which the app never asks for: it verifies certificates like the other.
    httpsAllowUnauthorized: keptAsIs(new https.Agent(options)),
  };
}
