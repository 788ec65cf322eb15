// The comparison for the sign-in: express-openid-connect signing in at the same local provider, showing the same facts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { auth } from 'express-openid-connect';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};

const app = express();
app.disable('x-powered-by');
app.set('view engine', 'ejs');
app.set('views', path.join(path.dirname(fileURLToPath(import.meta.url)), 'views'));
app.set('view cache', true);
app.use(
  auth({
    issuerBaseURL: env('EOC_ISSUER'),
    baseURL: env('BASE_URL'),
    clientID: env('EOC_CLIENT_ID'),
    clientSecret: env('EOC_CLIENT_SECRET'),
    secret: env('EOC_SECRET'),
    clientAuthMethod: 'client_secret_post',
    authRequired: false,
    idpLogout: false,
    authorizationParams: { response_type: 'code', response_mode: 'query', scope: 'openid profile offline_access User.Read' },
  }),
);
app.get('/', (req, res) => {
  const claims = req.oidc.idTokenClaims;
  res.set('Cache-Control', 'no-store');
  res.render('eoc-home', {
    user:
      claims === undefined
        ? undefined
        : { name: claims.name, username: claims.preferred_username, tenantId: claims.tid, objectId: claims.oid },
    accessToken: req.oidc.accessToken,
  });
});
app.listen(Number(env('PORT')), '127.0.0.1');
// The bench stops it with SIGTERM: exiting (rather than dying of the signal) lets `node --cpu-prof` write its profile.
process.once('SIGTERM', () => process.exit(0));
