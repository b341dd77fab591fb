/**
 * The one generic executor every GitLab action runs through: plan the request from its catalogue
 * row, send it with undici over the dispatcher the registry hands the bundle (the HTTP bundle's
 * policy-enforcing Agent: blocked address ranges and the host allowlist apply to every socket),
 * read at most the worker's response cap, and shape the answer as the vendor does. One page per
 * call, as the vendor: `page` / `per_page` inputs pass through; Link headers are not followed.
 * Redirects are not followed either, so the token only ever goes to the connection's origin.
 */
import { request, type Dispatcher } from 'undici';
import { ParError } from '../../errors/par-error.js';
import type { ActionContext } from '../action.js';
import type { GitlabActionSpec } from './catalogue.js';
import { classifyGitlabError, statusError } from './classify.js';
import { gitlabConnection } from './connection.js';
import { planRequest } from './request-plan.js';

const USER_AGENT = 'private-action-runner-gitlab';

/** The X-Gitlab-* headers of a HEAD on a file, as go-gitlab reads them into a File. */
const FILE_META_HEADERS: ReadonlyArray<readonly [string, string, 'string' | 'number' | 'boolean']> = [
  ['x-gitlab-file-name', 'file_name', 'string'],
  ['x-gitlab-file-path', 'file_path', 'string'],
  ['x-gitlab-size', 'size', 'number'],
  ['x-gitlab-encoding', 'encoding', 'string'],
  ['x-gitlab-ref', 'ref', 'string'],
  ['x-gitlab-blob-id', 'blob_id', 'string'],
  ['x-gitlab-commit-id', 'commit_id', 'string'],
  ['x-gitlab-last-commit-id', 'last_commit_id', 'string'],
  ['x-gitlab-content-sha256', 'content_sha256', 'string'],
  ['x-gitlab-execute-filemode', 'execute_filemode', 'boolean'],
];

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number, target: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > cap) {
      body.destroy();
      throw new ParError('PAR_ERR_GITLAB_RESPONSE_TOO_LARGE', `${target}: more than ${cap} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function decodeJson(body: Buffer, target: string): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ParError('PAR_ERR_ACTION_FAILED', `${target}: the answer is not JSON`, { cause: error });
  }
}

function shape(
  spec: GitlabActionSpec,
  inputs: Record<string, unknown>,
  body: Buffer,
  headers: Dispatcher.ResponseData['headers'],
  target: string,
): Record<string, unknown> {
  switch (spec.special) {
    case 'rawBlob':
      return inputs['decode'] === true
        ? { content: body.toString('utf8'), encoding: 'utf-8' }
        : { content: body.toString('base64'), encoding: 'base64' };
    case 'rawFile':
      return { content: inputs['encoding'] === 'base64' ? body.toString('base64') : body.toString('utf8') };
    case 'archive':
      return { content: body.toString('base64'), encoding: 'base64' };
    case 'fileMeta': {
      const file: Record<string, unknown> = {};
      for (const [name, key, type] of FILE_META_HEADERS) {
        const v = header(headers, name);
        if (v === undefined) continue;
        file[key] = type === 'number' ? Number(v) : type === 'boolean' ? v === 'true' : v;
      }
      return { file };
    }
    case 'serviceAccount': {
      const user = decodeJson(body, target) as Record<string, unknown> | null;
      return {
        service_account: user ? { id: user['id'], name: user['name'], username: user['username'], email: user['email'] ?? '' } : null,
      };
    }
    default:
      if (spec.output === '') return {};
      return { [spec.output]: decodeJson(body, target) };
  }
}

export async function runGitlabAction(
  spec: GitlabActionSpec,
  inputs: Record<string, unknown>,
  ctx: ActionContext,
  dispatcher: Dispatcher,
): Promise<Record<string, unknown>> {
  if (spec.special === 'rawFile' && inputs['encoding'] !== undefined && inputs['encoding'] !== 'utf-8' && inputs['encoding'] !== 'base64') {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- whatever the caller sent, printed as String() prints it
    throw new ParError('PAR_ERR_INPUT_INVALID', `unsupported encoding: ${String(inputs['encoding'])}`);
  }
  const connection = gitlabConnection(ctx.credentials);
  const plan = planRequest(spec, inputs, connection.apiBase);
  const target = `${plan.method} ${plan.url.origin}${plan.url.pathname}`;
  const headers: Record<string, string> = { 'private-token': connection.token, accept: 'application/json', 'user-agent': USER_AGENT };
  if (plan.body !== undefined) headers['content-type'] = 'application/json';
  let response: Dispatcher.ResponseData;
  try {
    response = await request(plan.url, { dispatcher, method: plan.method, headers, body: plan.body, signal: ctx.signal });
  } catch (error) {
    throw classifyGitlabError(error, { target, signal: ctx.signal });
  }
  let body: Buffer;
  try {
    body = await readCapped(response.body, ctx.limits.httpMaxResponseBytes, target);
  } catch (error) {
    throw classifyGitlabError(error, { target, signal: ctx.signal });
  }
  if (response.statusCode < 200 || response.statusCode > 299) throw statusError(response.statusCode, target, body);
  return shape(spec, inputs, body, response.headers, target);
}
