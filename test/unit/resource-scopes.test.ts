import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultScopeOf, GRAPH_RESOURCE, parseResourceScopes } from '../../src/auth/resource-scopes.ts';
import type { ResourceScopes } from '../../src/auth/resource-scopes.ts';

function parsed(input: string | string[]): ResourceScopes {
  const result = parseResourceScopes(input);
  assert.ok(result.ok, `expected "${String(input)}" to parse, got ${JSON.stringify(result)}`);
  return result.value;
}

describe('parseResourceScopes', () => {
  it('when scopes are Graph short names, then the resource is Microsoft Graph and OIDC scopes are set aside', () => {
    const value = parsed('openid profile offline_access User.Read Mail.Read');
    assert.equal(value.resource, GRAPH_RESOURCE);
    assert.deepEqual(value.scopes, ['User.Read', 'Mail.Read']);
    assert.equal(value.key, 'https://graph.microsoft.com mail.read user.read');
  });

  it('when Graph is named by its URI or its application id, then it is the same resource and the same key as the short names', () => {
    const short = parsed('User.Read');
    assert.equal(parsed('https://graph.microsoft.com/User.Read').key, short.key);
    assert.equal(parsed('00000003-0000-0000-c000-000000000000/user.read').key, short.key);
    assert.equal(parseResourceScopes('User.Read https://graph.microsoft.com/Mail.Read').ok, true, 'one resource written two ways');
  });

  it('when scopes are resource-qualified, then the resource is everything before the last slash', () => {
    assert.equal(parsed('https://outlook.office.com/Mail.Read').resource, 'https://outlook.office.com');
    assert.equal(parsed('api://b7e5c1d2-4f3a-4e6b-9c8d-0a1b2c3d4e5f/Read').resource, 'api://b7e5c1d2-4f3a-4e6b-9c8d-0a1b2c3d4e5f');
    assert.equal(parsed('api://contoso.com/api/UseResource').resource, 'api://contoso.com/api');
    assert.equal(parsed('https://contoso.crm.dynamics.com/user_impersonation').resource, 'https://contoso.crm.dynamics.com');
    assert.equal(parsed('b7e5c1d2-4f3a-4e6b-9c8d-0a1b2c3d4e5f/Read').resource, 'b7e5c1d2-4f3a-4e6b-9c8d-0a1b2c3d4e5f');
  });

  it("when ARM's .default is written with the documented double slash, then it is ARM, keyed like the single-slash form", () => {
    const double = parsed('https://management.azure.com//.default');
    assert.equal(double.resource, 'https://management.azure.com');
    assert.deepEqual(double.scopes, ['https://management.azure.com//.default'], 'sent as written');
    assert.equal(parsed('https://management.azure.com/.default').key, double.key);
    assert.equal(parsed('https://Management.Azure.com/user_impersonation').resource, 'https://management.azure.com');
  });

  it('when the same scope set is written in another order or case, then the key is the same; duplicates are sent once', () => {
    assert.equal(
      parsed('https://outlook.office.com/SMTP.Send https://outlook.office.com/Mail.Read').key,
      parsed('https://OUTLOOK.office.com/mail.read https://outlook.office.com/smtp.send').key,
    );
    assert.deepEqual(parsed('User.Read user.read openid').scopes, ['User.Read']);
    assert.deepEqual(parsed(['User.Read', 'Mail.Read openid']).scopes, ['User.Read', 'Mail.Read']);
  });

  it('when scopes of two resources are mixed, then the list is refused naming both', () => {
    const result = parseResourceScopes('openid https://outlook.office.com/Mail.Read https://management.azure.com/user_impersonation');
    assert.deepEqual(result, {
      ok: false,
      problem: 'several_resources',
      resources: ['https://outlook.office.com', 'https://management.azure.com'],
    });
    assert.equal(
      parseResourceScopes('User.Read https://outlook.office.com/Mail.Read').ok,
      false,
      'a Graph short name is Graph, not Outlook',
    );
  });

  it('when .default comes with named permissions of its resource, then the list is refused', () => {
    assert.deepEqual(parseResourceScopes('https://graph.microsoft.com/.default Mail.Read'), {
      ok: false,
      problem: 'default_with_others',
      resource: GRAPH_RESOURCE,
    });
  });

  it('when only OIDC scopes or nothing are given, then there is no resource', () => {
    for (const input of ['', '   ', 'openid profile offline_access email', 'OpenID']) {
      assert.deepEqual(parseResourceScopes(input), { ok: false, problem: 'no_resource' }, input);
    }
  });

  it('when a scope is not one Microsoft accepts, then it is named', () => {
    for (const scope of [
      'contoso.crm.dynamics.com/user_impersonation',
      'https://outlook.office.com/',
      'https://outlook.office.com',
      'https:///Mail.Read',
      'api://',
      'not-a-guid/Read',
      'Mail"Read',
      'Mail\\Read',
    ]) {
      assert.deepEqual(parseResourceScopes(`openid ${scope}`), { ok: false, problem: 'invalid_scope', scope }, scope);
    }
  });

  it('when the list is absurdly long, then it is refused', () => {
    assert.deepEqual(parseResourceScopes(Array.from({ length: 51 }, (_, index) => `P${index}`).join(' ')), {
      ok: false,
      problem: 'too_long',
    });
    assert.deepEqual(parseResourceScopes(`https://outlook.office.com/${'a'.repeat(600)}`), { ok: false, problem: 'too_long' });
  });

  it('when --resource names a URI, then its scope is the URI and /.default, as the Azure CLI writes it', () => {
    assert.equal(defaultScopeOf('https://outlook.office.com'), 'https://outlook.office.com/.default');
    assert.equal(defaultScopeOf('https://management.azure.com/'), 'https://management.azure.com//.default');
    assert.equal(parsed(defaultScopeOf('https://management.azure.com/')).resource, 'https://management.azure.com');
  });
});
