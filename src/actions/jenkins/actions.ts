/**
 * The three vendor actions. `buildJenkinsJob`: POST /job/<name>/build?delay=0sec, or
 * /buildWithParameters with the parameters in the query when `option` is `with_parameters`;
 * output `{}`. `getJobStatus`: GET /job/<name>/lastBuild/api/json, output the vendor's fields
 * (displayName, duration, estimatedDuration, id, inProgress = building, result, url), each left
 * out when empty, false or 0 as the vendor's `omitempty` does (so a build still running has no
 * `result`). `deleteJenkinsJob`: DELETE /job/<name>/, output `{}`.
 */
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import { JenkinsClient, jenkinsTarget } from './client.js';
import { buildJobInputSchema, encodeJobName, jobInputSchema, type BuildJobInput } from './inputs.js';
import type { Dispatcher } from 'undici';

export const JENKINS_BUNDLE = 'com.datadoghq.jenkins';

export interface JobStatus {
  displayName?: string;
  duration?: number;
  estimatedDuration?: number;
  id?: string;
  inProgress?: boolean;
  result?: string;
  url?: string;
}

/** The build URL's path and query, as the vendor's buildJobURL (query keys sorted, as Go's url.Values.Encode). */
export function buildJobPath(inputs: BuildJobInput): string {
  const withParameters = inputs.buildWithParameters?.option === 'with_parameters';
  const params: Array<[string, string]> = [['delay', '0sec']];
  if (withParameters) params.push(...Object.entries(inputs.buildWithParameters?.parameters ?? {}));
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `/job/${encodeJobName(inputs.jobName)}/${withParameters ? 'buildWithParameters' : 'build'}?${new URLSearchParams(params).toString()}`;
}

/** The vendor's GetJobStatusOutputs from a build's JSON, with Go's omitempty. */
export function toJobStatus(build: unknown, target: string): JobStatus {
  if (build === null || typeof build !== 'object' || Array.isArray(build))
    throw new ParError('PAR_ERR_JENKINS_RESPONSE_INVALID', `${target}: the build is not a JSON object`);
  const b = build as Record<string, unknown>;
  const out: JobStatus = {};
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const int = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && Math.trunc(v) !== 0 ? Math.trunc(v) : undefined);
  const set = <K extends keyof JobStatus>(k: K, v: JobStatus[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('displayName', str(b['displayName']));
  set('duration', int(b['duration']));
  set('estimatedDuration', int(b['estimatedDuration']));
  set('id', str(b['id']));
  set('inProgress', b['building'] === true ? true : undefined);
  set('result', str(b['result']));
  set('url', str(b['url']));
  return out;
}

function client(dispatcher: Dispatcher, ctx: ActionContext): JenkinsClient {
  return new JenkinsClient(dispatcher, jenkinsTarget(ctx), ctx);
}

export function jenkinsActions(dispatcher: Dispatcher): RegisteredAction[] {
  return [
    defineAction({
      fqn: `${JENKINS_BUNDLE}.buildJenkinsJob`,
      inputSchema: buildJobInputSchema,
      async run(inputs, ctx): Promise<Record<string, never>> {
        await client(dispatcher, ctx).write('POST', buildJobPath(inputs));
        return {};
      },
    }),
    defineAction({
      fqn: `${JENKINS_BUNDLE}.getJobStatus`,
      inputSchema: jobInputSchema,
      async run(inputs, ctx): Promise<JobStatus> {
        const path = `/job/${encodeJobName(inputs.jobName)}/lastBuild/api/json`;
        const response = await client(dispatcher, ctx).get(path);
        const target = `GET /job/${encodeJobName(inputs.jobName)}/lastBuild/api/json`;
        let parsed: unknown;
        try {
          parsed = JSON.parse(response.body.toString('utf8'));
        } catch {
          throw new ParError('PAR_ERR_JENKINS_RESPONSE_INVALID', `${target}: error unmarshalling response body`);
        }
        return toJobStatus(parsed, target);
      },
    }),
    defineAction({
      fqn: `${JENKINS_BUNDLE}.deleteJenkinsJob`,
      inputSchema: jobInputSchema,
      async run(inputs, ctx): Promise<Record<string, never>> {
        await client(dispatcher, ctx).write('DELETE', `/job/${encodeJobName(inputs.jobName)}/`);
        return {};
      },
    }),
  ];
}
