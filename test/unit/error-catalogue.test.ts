import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CATALOGUE, describeError } from '../../src/error-catalogue.ts';
import type { AppErrorCode } from '../../src/error-catalogue.ts';
import { AppError, providerDetails } from '../../src/errors.ts';

const IDS =
  'Trace ID: 0b1c2d3e-0000-4000-8000-000000000001\r\nCorrelation ID: 7a2e4f60-0000-4000-8000-000000000002\r\nTimestamp: 2026-11-28 10:00:00Z';

describe('the error catalogue', () => {
  it('when any code is described, then it has an error status, a title, an explanation and a fix', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as AppErrorCode[]) {
      const { status, title, message, fix } = describeError(code, { baseUrl: 'http://127.0.0.1:5000', problem: 'a problem' });
      assert.ok(status >= 400 && status <= 599, code);
      for (const text of [title, message, fix]) assert.ok(text.trim().length > 0, code);
    }
  });

  it('when "Microsoft sign-in is unavailable" is the title, then it is one sentence shared, and each cause keeps its own code', () => {
    const unavailable = (Object.keys(ERROR_CATALOGUE) as AppErrorCode[]).filter(
      (code) => ERROR_CATALOGUE[code].title === 'Microsoft sign-in is unavailable',
    );
    assert.deepEqual(unavailable.sort(), [
      'discovery_mismatch',
      'discovery_unavailable',
      'signing_keys_unavailable',
      'token_response_unusable',
      'token_service_timed_out',
      'token_service_unavailable',
      'token_service_unreachable',
    ]);
  });

  it("when an AppError is made, then status, title, message and fix are the catalogue's, with its values filled in", () => {
    const error = new AppError('session_cookie_lost', { values: { baseUrl: 'https://app.example', requestHost: 'other.example' } });
    assert.equal(error.status, 400);
    assert.equal(error.title, "Your browser lost this app's session during sign-in");
    assert.match(error.message, /This request came to other\.example\.$/);
    assert.match(error.fix, /^Open the app at https:\/\/app\.example\/ \(host app\.example, https\)/);
    assert.doesNotMatch(
      new AppError('session_cookie_lost', { values: { baseUrl: 'https://app.example' } }).message,
      /This request came to/,
    );
  });
});

describe("Microsoft's error details: one reader for the token endpoint and the error redirect", () => {
  it('when the token endpoint answers JSON, then error, AADSTS code, first line and ids are read from its fields', () => {
    const details = providerDetails({
      error: 'invalid_grant',
      error_description: `AADSTS70008: The provided authorization code or refresh token has expired.\r\n${IDS}`,
      error_codes: [70008],
      trace_id: 'trace-json',
      correlation_id: 'correlation-json',
      timestamp: '2026-11-28 11:00:00Z',
      access_token: 'never',
    });
    assert.deepEqual(details, {
      error: 'invalid_grant',
      description: 'AADSTS70008: The provided authorization code or refresh token has expired.',
      aadsts: '70008',
      correlationId: 'correlation-json',
      traceId: 'trace-json',
      timestamp: '2026-11-28 11:00:00Z',
    });
  });

  it("when the error comes back in the redirect, then the AADSTS code and the ids are read from the description's lines", () => {
    assert.deepEqual(
      providerDetails({ error: 'invalid_request', error_description: `AADSTS50011: The redirect URI does not match.\r\n${IDS}` }),
      {
        error: 'invalid_request',
        description: 'AADSTS50011: The redirect URI does not match.',
        aadsts: '50011',
        correlationId: '7a2e4f60-0000-4000-8000-000000000002',
        traceId: '0b1c2d3e-0000-4000-8000-000000000001',
        timestamp: '2026-11-28 10:00:00Z',
      },
    );
  });

  it('when the fields are missing, too long or not strings, then they are left out or cut to 500 characters', () => {
    assert.deepEqual(providerDetails({}), {
      error: undefined,
      description: undefined,
      aadsts: undefined,
      correlationId: undefined,
      traceId: undefined,
      timestamp: undefined,
    });
    const description = `AADSTS90014: ${'y'.repeat(600)}\nCorrelation ID: abc`;
    const long = providerDetails({ error: 'x'.repeat(600), error_description: description, error_codes: ['90014'] });
    assert.equal(long.error?.length, 500);
    assert.equal(long.description?.length, 500);
    assert.equal(long.aadsts, '90014');
    assert.equal(long.correlationId, 'abc');
    assert.equal(providerDetails({ error: 42, error_description: ['AADSTS1'] }).error, undefined);
  });
});
