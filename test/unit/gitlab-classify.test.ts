/** GitLab answers and transport failures -> error codes, retryable or not; messages quote GitLab, never the token. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyGitlabError, codeForStatus, gitlabMessage, statusError, ERROR_BODY_BYTES } from '../../src/actions/gitlab/classify.js';
import { ParError } from '../../src/errors/par-error.js';

describe('GitLab error classification', () => {
  it('maps every status to a code; only 429 and 5xx are retryable', () => {
    const cases: Array<[number, string, boolean]> = [
      [400, 'PAR_ERR_GITLAB_REJECTED', false],
      [401, 'PAR_ERR_GITLAB_UNAUTHORIZED', false],
      [403, 'PAR_ERR_GITLAB_FORBIDDEN', false],
      [404, 'PAR_ERR_GITLAB_NOT_FOUND', false],
      [405, 'PAR_ERR_GITLAB_REJECTED', false],
      [409, 'PAR_ERR_GITLAB_REJECTED', false],
      [422, 'PAR_ERR_GITLAB_REJECTED', false],
      [429, 'PAR_ERR_GITLAB_STATUS_RETRYABLE', true],
      [500, 'PAR_ERR_GITLAB_STATUS_RETRYABLE', true],
      [503, 'PAR_ERR_GITLAB_STATUS_RETRYABLE', true],
      [302, 'PAR_ERR_GITLAB_STATUS', false],
      [304, 'PAR_ERR_GITLAB_STATUS', false],
    ];
    for (const [status, code, retryable] of cases) {
      assert.equal(codeForStatus(status), code, String(status));
      const e = statusError(status, 'GET https://g/api/v4/x', Buffer.from('{"message":"m"}'));
      assert.equal(e.code, code);
      assert.equal(e.retryable, retryable, String(status));
    }
  });

  it('quotes GitLab message shapes: string, field map, error, error_description; cut at 750 bytes', () => {
    assert.equal(gitlabMessage(Buffer.from('{"message":"404 Project Not Found"}')), '404 Project Not Found');
    assert.equal(gitlabMessage(Buffer.from('{"message":{"name":["can\'t be blank"]}}')), '{"name":["can\'t be blank"]}');
    assert.equal(
      gitlabMessage(Buffer.from('{"error":"invalid_token","error_description":"Token was revoked."}')),
      'invalid_token: Token was revoked.',
    );
    assert.equal(gitlabMessage(Buffer.from('<html>bad gateway</html>')), '<html>bad gateway</html>');
    const long = gitlabMessage(Buffer.from(JSON.stringify({ message: 'x'.repeat(5000) })));
    assert.ok(long.endsWith('... [truncated]') && long.length <= ERROR_BODY_BYTES + 20);
  });

  it('keeps the network policy refusal, the task abort and connect failures apart', () => {
    const signal = new AbortController().signal;
    const own = new ParError('PAR_ERR_HTTP_ADDRESS_BLOCKED', 'x');
    assert.equal(classifyGitlabError(Object.assign(new Error('wrapped'), { cause: own }), { target: 't', signal }), own);
    const refused = classifyGitlabError(Object.assign(new Error('c'), { code: 'ECONNREFUSED' }), { target: 't', signal });
    assert.equal(refused.code, 'PAR_ERR_GITLAB_CONNECT');
    assert.equal(refused.retryable, true);
    const tls = classifyGitlabError(Object.assign(new Error('c'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), { target: 't', signal });
    assert.equal(tls.code, 'PAR_ERR_GITLAB_CONNECT');
    assert.equal(tls.retryable, false);
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(classifyGitlabError(new Error('AbortError'), { target: 't', signal: aborted.signal }).code, 'PAR_ERR_TASK_CANCELLED');
  });
});
