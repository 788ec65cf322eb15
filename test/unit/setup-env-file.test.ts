import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import { buildAzCommands, quoteForShell, signInAudienceFor } from '../../src/setup/az-commands.ts';
import { createKeys, formatEnvValue, readEnvText, renderEnvFile } from '../../src/setup/env-file.ts';
import { buildEnvFile, readDefaultAnswers } from '../../src/setup/setup-answers.ts';
import { parseSetupOptions } from '../../src/setup/setup-options.ts';

const template = fs.readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
const answers = {
  appId: '11111111-2222-3333-4444-555555555555',
  appKey: 'Abc8Q~a-client.secret_value',
  tenant: 'contoso.onmicrosoft.com',
  baseUrl: 'https://signin.example.com',
};

function nonAssignmentLines(text: string): string[] {
  return text.split('\n').filter((line) => !/^[A-Z0-9_]+=/.test(line));
}

function variableNames(text: string): string[] {
  return text.split('\n').flatMap((line) => /^([A-Z0-9_]+)=/.exec(line)?.[1] ?? []);
}

describe('the .env text', () => {
  it('when built from answers, then parseConfig accepts it with exactly those values and the keys', () => {
    const keys = createKeys();
    const result = buildEnvFile(template, answers, keys);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const reparsed = parseConfig(readEnvText(result.text));
    assert.ok(reparsed.ok);
    assert.deepEqual(
      reparsed.warnings.filter((warning) => /random/.test(warning)),
      [],
      'no random fallback keys',
    );
    const { config } = reparsed;
    assert.equal(config.appId, answers.appId);
    assert.deepEqual(config.clientCredential, { kind: 'secret', secret: answers.appKey });
    assert.equal(config.tenant, answers.tenant);
    assert.equal(config.baseUrl, answers.baseUrl);
    assert.equal(config.sessionSecret, keys.SESSION_SECRET);
    assert.equal(config.tokenEncryptionKey.toString('base64'), keys.TOKEN_ENCRYPTION_KEY);
  });

  it('when built, then every comment, blank line and variable of .env.example is there in the same order', () => {
    const result = buildEnvFile(template, answers, createKeys());
    assert.ok(result.ok);
    assert.deepEqual(nonAssignmentLines(result.text), nonAssignmentLines(template));
    assert.deepEqual(variableNames(result.text), variableNames(template));
    const written = readEnvText(result.text);
    const example = readEnvText(template);
    for (const name of ['O365_AUTHORITY_HOST', 'O365_SCOPES', 'PORT', 'HOST', 'DATABASE_URL', 'GRAPH_BASE_URL', 'DEMO_IDP_PORT']) {
      assert.equal(written[name], example[name], `${name} keeps its .env.example value`);
    }
  });

  it("when only the app id and secret are given, then tenant and base URL are .env.example's defaults", () => {
    const result = buildEnvFile(template, { appId: answers.appId, appKey: answers.appKey }, createKeys());
    assert.ok(result.ok);
    assert.equal(result.config.tenant, 'common');
    assert.equal(result.config.redirectUri, 'http://127.0.0.1:5000/connect/get_token');
    assert.deepEqual(readDefaultAnswers(template), { tenant: 'common', baseUrl: 'http://127.0.0.1:5000' });
  });

  it('when answers are padded with spaces, then they are written trimmed', () => {
    const result = buildEnvFile(template, { ...answers, appId: `  ${answers.appId} ` }, createKeys());
    assert.ok(result.ok);
    assert.match(result.text, new RegExp(`^O365_APP_ID=${answers.appId}$`, 'm'));
  });

  it("when values are bad, then the problems are parseConfig's own messages, each tied to its answer", () => {
    const bad = {
      appId: 'my-app',
      appKey: '11111111-2222-3333-4444-555555555555',
      tenant: 'not a tenant',
      baseUrl: 'http://signin.example.com',
    };
    const result = buildEnvFile(template, bad, createKeys());
    assert.ok(!result.ok);
    const expected = parseConfig({ O365_APP_ID: bad.appId, O365_APP_KEY: bad.appKey, O365_TENANT: bad.tenant, BASE_URL: bad.baseUrl });
    assert.ok(!expected.ok);
    assert.deepEqual(
      result.problems.map((problem) => problem.message),
      expected.problems,
    );
    assert.deepEqual(
      result.problems.map((problem) => problem.field),
      ['appId', 'appKey', 'tenant', 'baseUrl'],
    );
  });

  it('when the app id and secret are missing, then parseConfig\'s "is missing" messages come back', () => {
    const result = buildEnvFile(template, {}, createKeys());
    assert.ok(!result.ok);
    assert.equal(result.problems.length, 2);
    assert.match(result.problems[0]!.message, /^O365_APP_ID is missing: /);
    assert.match(result.problems[1]!.message, /^O365_APP_KEY is missing: /);
  });

  it('when a secret has #, quotes, $ or spaces inside, then it reads back from the file unchanged', () => {
    for (const appKey of ['a#b', "it's", 'a"b`c', '$HOME x', 'back\\slash']) {
      const result = buildEnvFile(template, { ...answers, appKey }, createKeys());
      assert.ok(result.ok, appKey);
      assert.equal(readEnvText(result.text).O365_APP_KEY, appKey);
    }
  });

  it('when a value cannot be written to .env, then that answer has one problem and nothing else is said about it', () => {
    const result = buildEnvFile(template, { ...answers, appKey: "a'b`c" }, createKeys());
    assert.ok(!result.ok);
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0]!.field, 'appKey');
    assert.match(result.problems[0]!.message, /^O365_APP_KEY cannot be written: /);
    assert.ok(!result.problems[0]!.message.includes("a'b`c"), 'the secret is not repeated');
  });

  it('when a value is plain, then it is written without quotes; otherwise quoted', () => {
    assert.equal(formatEnvValue('V1br28mTcrgiCIwuGEpG+Nef6/bM9NSjxNxzo4gMMDvIU='), 'V1br28mTcrgiCIwuGEpG+Nef6/bM9NSjxNxzo4gMMDvIU=');
    assert.equal(formatEnvValue('a b'), "'a b'");
    assert.equal(formatEnvValue("a'b"), "`a'b`");
    assert.throws(() => formatEnvValue('a\nb'), /cannot span lines/);
  });

  it('when the template lacks a variable to fill, then rendering fails instead of dropping it', () => {
    assert.throws(() => renderEnvFile('# nothing\nPORT=5000\n', { O365_APP_ID: 'x' }), /has no line for O365_APP_ID/);
  });

  it('when the template has Windows line endings, then they are kept', () => {
    assert.equal(renderEnvFile('# a\r\nPORT=1\r\n', { PORT: '2' }), '# a\r\nPORT=2\r\n');
  });
});

describe('the generated keys', () => {
  it('when created, then SESSION_SECRET and TOKEN_ENCRYPTION_KEY are 32 random bytes (base64url and 44-character base64)', () => {
    const keys = createKeys();
    assert.match(keys.SESSION_SECRET, /^[A-Za-z0-9_-]{43}$/);
    assert.match(keys.TOKEN_ENCRYPTION_KEY, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(keys.SESSION_SECRET, 'base64url').length, 32);
    assert.equal(Buffer.from(keys.TOKEN_ENCRYPTION_KEY, 'base64').length, 32);
  });

  it('when created twice, then no key repeats', () => {
    const first = createKeys();
    const second = createKeys();
    assert.notEqual(first.SESSION_SECRET, second.SESSION_SECRET);
    assert.notEqual(first.TOKEN_ENCRYPTION_KEY, second.TOKEN_ENCRYPTION_KEY);
  });
});

describe('the Azure CLI commands', () => {
  it('when the tenant is common, organizations, consumers or one organisation, then the audience matches', () => {
    assert.equal(signInAudienceFor('common'), 'AzureADandPersonalMicrosoftAccount');
    assert.equal(signInAudienceFor('Organizations'), 'AzureADMultipleOrgs');
    assert.equal(signInAudienceFor('consumers'), 'PersonalMicrosoftAccount');
    assert.equal(signInAudienceFor('contoso.onmicrosoft.com'), 'AzureADMyOrg');
    assert.equal(signInAudienceFor('72f988bf-86f1-41af-91ab-2d7cd011db47'), 'AzureADMyOrg');
  });

  it('when built for common, then the create command is the documented one with the redirect URI, and there is no login step', () => {
    const commands = buildAzCommands({ appId: answers.appId, tenant: 'common', redirectUri: 'http://127.0.0.1:5000/connect/get_token' });
    assert.equal(
      commands.createApp,
      'az ad app create --display-name o365-signin --sign-in-audience AzureADandPersonalMicrosoftAccount ' +
        '--web-redirect-uris http://127.0.0.1:5000/connect/get_token ' +
        '--required-resource-accesses \'[{"resourceAppId":"00000003-0000-0000-c000-000000000000","resourceAccess":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","type":"Scope"}]}]\' ' +
        '--query appId --output tsv',
    );
    assert.equal(
      commands.createSecret,
      `az ad app credential reset --id ${answers.appId} --append --display-name o365-signin --query password --output tsv`,
    );
    assert.equal(commands.login, undefined);
  });

  it('when built for one tenant, then it signs in to that tenant first', () => {
    const commands = buildAzCommands({
      appId: answers.appId,
      tenant: 'contoso.onmicrosoft.com',
      redirectUri: 'https://signin.example.com/connect/get_token',
    });
    assert.equal(commands.login, 'az login --tenant contoso.onmicrosoft.com');
    assert.match(
      commands.createApp,
      / --sign-in-audience AzureADMyOrg --web-redirect-uris https:\/\/signin\.example\.com\/connect\/get_token /,
    );
  });

  it('when a value has shell characters, then it is one single-quoted word', () => {
    assert.equal(quoteForShell('http://[::1]:5000/connect/get_token'), "'http://[::1]:5000/connect/get_token'");
    assert.equal(quoteForShell("it's"), "'it'\\''s'");
  });
});

describe('the setup options', () => {
  it('when flags are given, then they become the answers and --yes means no prompts', () => {
    const result = parseSetupOptions([
      '--app-id',
      answers.appId,
      `--secret=${answers.appKey}`,
      '--tenant',
      'organizations',
      '--base-url',
      answers.baseUrl,
      '--force',
      '-y',
    ]);
    assert.ok(result.ok);
    assert.deepEqual(result.options, {
      answers: { appId: answers.appId, appKey: answers.appKey, tenant: 'organizations', baseUrl: answers.baseUrl },
      certificate: false,
      force: true,
      mode: 'non-interactive',
      envFile: '.env',
      help: false,
    });
  });

  it('when no flags are given, then the terminal decides whether to prompt', () => {
    const result = parseSetupOptions([]);
    assert.ok(result.ok);
    assert.equal(result.options.mode, 'auto');
    assert.deepEqual(result.options.answers, {});
  });

  it('when an option is unknown or --yes meets --interactive, then it is an error', () => {
    assert.deepEqual(parseSetupOptions(['--app']), { ok: false, message: "Unknown option '--app'" });
    assert.equal(parseSetupOptions(['--yes', '--interactive']).ok, false);
  });

  it('when --certificate is given, then no secret is wanted; with --secret beside it, it is an error', () => {
    const result = parseSetupOptions(['--app-id', answers.appId, '--certificate']);
    assert.ok(result.ok);
    assert.equal(result.options.certificate, true);
    assert.deepEqual(result.options.answers, { appId: answers.appId });
    assert.deepEqual(parseSetupOptions(['--certificate', '--secret', 'x']), {
      ok: false,
      message: '--secret and --certificate cannot be used together: the app uses one credential',
    });
  });

  it('when a stray argument might be a secret, then the error does not repeat it', () => {
    const result = parseSetupOptions(['--app-id', answers.appId, 'Abc8Q~stray-secret']);
    assert.ok(!result.ok);
    assert.ok(!result.message.includes('stray-secret'));
  });
});
