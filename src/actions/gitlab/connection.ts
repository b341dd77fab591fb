/**
 * The GitLab connection, as the vendor reads it: a Token Auth credential file with
 * `gitlabApiToken` (sent as `PRIVATE-TOKEN`) and `baseURL` (default `https://gitlab.com`; `/api/v4`
 * is appended unless the URL already ends with it, as go-gitlab's WithBaseURL does). The token is
 * never put in an error message.
 */
import { ParError } from '../../errors/par-error.js';
import { tokenValue } from '../credentials.js';
import { type Credentials } from '../../contracts/credentials.js';

export const DEFAULT_BASE_URL = 'https://gitlab.com';

export interface GitlabConnection {
  /** `<baseURL>/api/v4/`, always with the trailing slash. */
  readonly apiBase: URL;
  readonly token: string;
}

export function gitlabConnection(credentials: Credentials | undefined): GitlabConnection {
  if (credentials?.authType !== 'Token Auth') {
    throw new ParError(
      'PAR_ERR_GITLAB_CREDENTIALS_INVALID',
      credentials ? `auth_type is ${credentials.authType}` : 'the task has no credential file',
    );
  }
  const token = tokenValue(credentials, 'gitlabApiToken');
  if (!token) throw new ParError('PAR_ERR_GITLAB_CREDENTIALS_INVALID', 'no gitlabApiToken token in the credential file');
  const raw = tokenValue(credentials, 'baseURL') || DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ParError('PAR_ERR_GITLAB_CREDENTIALS_INVALID', 'baseURL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ParError('PAR_ERR_GITLAB_CREDENTIALS_INVALID', `baseURL scheme ${url.protocol} is not http(s)`);
  if (url.username || url.password) throw new ParError('PAR_ERR_GITLAB_CREDENTIALS_INVALID', 'baseURL carries userinfo');
  url.search = '';
  url.hash = '';
  let path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  if (!path.endsWith('/api/v4/')) path = `${path}api/v4/`;
  url.pathname = path;
  return { apiBase: url, token };
}
