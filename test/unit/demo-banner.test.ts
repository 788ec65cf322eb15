import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { severalInstancesBanner } from '../../dev/demo-banner.ts';

describe('the banner of npm run demo -- --instances N', () => {
  it('when the demo prints where things run, then the PostgreSQL URL is shown without its password, and the token command needs none', () => {
    const password = 'c0ffee5ecret1234abcd';
    const lines = severalInstancesBanner({
      baseUrl: 'http://127.0.0.1:5000',
      proxyUrl: 'http://127.0.0.1:5000',
      instances: [
        { name: 'instance-1', port: 40001 },
        { name: 'instance-2', port: 40002 },
      ],
      databaseUrl: `postgresql://postgres:${password}@127.0.0.1:45432/o365_demo`,
      idpOrigin: 'http://127.0.0.1:5001',
      credential: 'client secret (O365_APP_KEY)',
      account: { username: 'adele@contoso.test', password: 'Passw0rd!' },
    });
    const printed = lines.join('\n');
    assert.ok(!printed.includes(password), printed);
    assert.match(printed, /PostgreSQL \(embedded.*\): postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:45432\/o365_demo$/m);
    assert.match(printed, /^ {2}A token for scripts, while the demo runs: npm run -s token -- --demo$/m);
    assert.match(printed, /demo with 2 instances is running: open http:\/\/127\.0\.0\.1:5000\//);
  });
});
