import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedIssuer } from '../../src/auth/id-token-checks.ts';
import { readMetadata } from '../../src/auth/discovery.ts';
import { isAppError } from '../../src/errors.ts';

/** The refusal readMetadata gives a document that does not fit the settings. */
const isDiscoveryMismatch = (error: unknown) => isAppError(error, 'discovery_mismatch');

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

describe('issuer validation', () => {
  it("when the discovery issuer is the {tenantid} template, then the token's own tid is filled in", () => {
    assert.equal(
      expectedIssuer('https://login.microsoftonline.com/{tenantid}/v2.0', TENANT),
      `https://login.microsoftonline.com/${TENANT}/v2.0`,
    );
  });

  it('when the discovery issuer names a tenant, then that issuer is expected whatever the tid', () => {
    const issuer = `https://login.microsoftonline.com/${TENANT}/v2.0`;
    assert.equal(expectedIssuer(issuer, TENANT), issuer);
    assert.notEqual(expectedIssuer(issuer, OTHER_TENANT), `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`);
  });

  it('when the tid is not a GUID, then no issuer is acceptable', () => {
    assert.equal(expectedIssuer('https://login.microsoftonline.com/{tenantid}/v2.0', '{tenantid}'), undefined);
    assert.equal(expectedIssuer('https://login.microsoftonline.com/{tenantid}/v2.0', 'evil.example/x'), undefined);
  });

  it("when the tid is upper case, then the issuer uses Microsoft's lower-case form", () => {
    assert.equal(
      expectedIssuer('https://login.microsoftonline.com/{tenantid}/v2.0', TENANT.toUpperCase()),
      `https://login.microsoftonline.com/${TENANT}/v2.0`,
    );
  });
});

describe('discovery document checks', () => {
  const authority = { authorityHost: 'https://login.microsoftonline.com', tenant: 'common' };
  const document = (overrides: Record<string, unknown> = {}) => ({
    issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
    authorization_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    token_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    jwks_uri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
    end_session_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/logout',
    ...overrides,
  });

  it("when the document is Microsoft's, then the endpoints are read", () => {
    const metadata = readMetadata(document(), authority);
    assert.equal(metadata.tokenEndpoint, 'https://login.microsoftonline.com/common/oauth2/v2.0/token');
    assert.equal(metadata.issuer, 'https://login.microsoftonline.com/{tenantid}/v2.0');
  });

  it('when an endpoint is on another host, then the document is refused', () => {
    assert.throws(() => readMetadata(document({ token_endpoint: 'https://evil.example/token' }), authority), isDiscoveryMismatch);
  });

  it('when the issuer is the v1 issuer or another cloud, then the document is refused', () => {
    assert.throws(() => readMetadata(document({ issuer: `https://sts.windows.net/${TENANT}/` }), authority), isDiscoveryMismatch);
    assert.throws(
      () => readMetadata(document({ issuer: `https://login.microsoftonline.us/${TENANT}/v2.0` }), authority),
      isDiscoveryMismatch,
    );
  });

  it('when a tenant id is configured and the issuer names another tenant, then the document is refused', () => {
    assert.throws(
      () => readMetadata(document({ issuer: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }), { ...authority, tenant: TENANT }),
      /another tenant/,
    );
  });
});

describe('national clouds', () => {
  it("when Azure China's discovery lists its endpoints on the partner host, then they are accepted as the same authority", () => {
    const china = { authorityHost: 'https://login.chinacloudapi.cn', tenant: 'common' };
    const host = 'https://login.partner.microsoftonline.cn';
    const metadata = readMetadata(
      {
        issuer: `${host}/{tenantid}/v2.0`,
        authorization_endpoint: `${host}/common/oauth2/v2.0/authorize`,
        token_endpoint: `${host}/common/oauth2/v2.0/token`,
        jwks_uri: `${host}/common/discovery/v2.0/keys`,
      },
      china,
    );
    assert.equal(metadata.tokenEndpoint, `${host}/common/oauth2/v2.0/token`);
  });

  it("when a US Government authority's document points at the public cloud, then it is refused", () => {
    const us = { authorityHost: 'https://login.microsoftonline.us', tenant: 'common' };
    const host = 'https://login.microsoftonline.com';
    assert.throws(
      () =>
        readMetadata(
          {
            issuer: `${host}/{tenantid}/v2.0`,
            authorization_endpoint: `${host}/common/oauth2/v2.0/authorize`,
            token_endpoint: `${host}/common/oauth2/v2.0/token`,
            jwks_uri: `${host}/common/discovery/v2.0/keys`,
          },
          us,
        ),
      isDiscoveryMismatch,
    );
  });
});
