/**
 * The one place where the Jenkins bundle turns what went wrong into an error code. A refusal of
 * the network policy (raised in the shared dispatchers' connect path) keeps its own code.
 * Details name the target by origin and path only.
 */
import { errorCodeOf, findParError } from '../../errors/error-chain.js';
import { ParError } from '../../errors/par-error.js';
import { CONNECT_CODES } from '../connect-codes.js';

function isTlsCode(code: string): boolean {
  return (
    code.includes('CERT') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code === 'HOSTNAME_MISMATCH' ||
    code === 'INVALID_CA'
  );
}

export function classifyJenkinsError(error: unknown, target: string, signal: AbortSignal): ParError {
  const own = findParError(error);
  if (own) return own;
  if (signal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', `${target}: aborted`, { cause: error });
  const code = errorCodeOf(error);
  if (code && isTlsCode(code)) return new ParError('PAR_ERR_JENKINS_TLS', `${target}: ${code}`, { cause: error });
  if (code && CONNECT_CODES.has(code)) return new ParError('PAR_ERR_JENKINS_CONNECT', `${target}: ${code}`, { cause: error });
  return new ParError('PAR_ERR_ACTION_FAILED', `${target}: ${code ?? (error instanceof Error ? error.name : 'error')}`, { cause: error });
}

/**
 * A non-2xx answer, worded as the vendor words it (`unexpected status code: N`). 429 and 503 say
 * the request was not processed, so they are retryable for any method; other 5xx only for a read
 * (a build request that answered 500 may have queued a build).
 */
export function jenkinsStatusError(status: number, method: string, target: string): ParError {
  const text = `${target}: unexpected status code: ${status}`;
  if (status === 401) return new ParError('PAR_ERR_JENKINS_UNAUTHORIZED', text);
  if (status === 403) return new ParError('PAR_ERR_JENKINS_FORBIDDEN', text);
  if (status === 404) return new ParError('PAR_ERR_JENKINS_NOT_FOUND', text);
  if (status === 429 || status === 503 || (method === 'GET' && status >= 500))
    return new ParError('PAR_ERR_JENKINS_STATUS_RETRYABLE', text);
  return new ParError('PAR_ERR_JENKINS_STATUS', text);
}
