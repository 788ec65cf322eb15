import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCurlCommand } from '../../src/web/curl-command.ts';
import { curlArgumentsOf } from '../support/shell.ts';

describe('the "Copy as curl" line', () => {
  it('S34: when the token or the URL holds quotes, $(…), backticks, ; and spaces, then a POSIX shell hands curl each argument unchanged', () => {
    const hostile = ["a'b", "'; echo INJECTED; '", '$(echo INJECTED)', '`echo INJECTED`', '"$HOME" \\ * ? ~ & | > < ! #', "''''", "'\\''"];
    for (const token of ['eyJ0eXAi.eyJhdWQi.c2ln', ...hostile]) {
      for (const url of ['https://graph.microsoft.com/v1.0/me', ...hostile]) {
        const line = buildCurlCommand(token, url);
        assert.ok(line !== undefined);
        assert.deepEqual(curlArgumentsOf(line), ['-H', `Authorization: Bearer ${token}`, url], line);
      }
    }
  });

  it('S34: when another header goes with the token (SharePoint wants Accept), then each is its own quoted argument', () => {
    const line = buildCurlCommand("a'b", 'https://contoso.sharepoint.com/_api/web?$select=Title,Url', [
      'Accept: application/json;odata=nometadata',
    ]);
    assert.ok(line !== undefined);
    assert.deepEqual(curlArgumentsOf(line), [
      '-H',
      "Authorization: Bearer a'b",
      '-H',
      'Accept: application/json;odata=nometadata',
      'https://contoso.sharepoint.com/_api/web?$select=Title,Url',
    ]);
    assert.equal(buildCurlCommand('eyJ.eyJ.sig', 'https://x.example/', ['Accept: a\nb']), undefined);
  });

  it('when the token or the URL holds a control character (a newline, an escape, Ctrl-C), then no line is built', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\u001b[2Jb', 'a\u0003b', 'a\u007fb', 'a\u0085b']) {
      assert.equal(buildCurlCommand(bad, 'https://graph.microsoft.com/v1.0/me'), undefined);
      assert.equal(buildCurlCommand('eyJ.eyJ.sig', bad), undefined);
    }
  });
});
