/**
 * The `com.datadoghq.gitlab.*` bundles (branches, commits, ..., users): every action generated
 * from the catalogue table and run by the one executor. The bundle owns no connection pool: the
 * registry hands it the HTTP bundle's policy-enforcing dispatcher, so GitLab requests obey the
 * same blocked address ranges, host allowlist and CA bundle as `com.datadoghq.http` and this
 * bundle imports no other bundle.
 */
import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { defineAction, type RegisteredAction } from '../action.js';
import { GITLAB_ACTIONS, fqnOf, pathParams, type GitlabActionSpec } from './catalogue.js';
import { runGitlabAction } from './executor.js';

export interface GitlabBundleOptions {
  /** The dispatcher every GitLab request goes through (the HTTP bundle's verifying Agent). */
  readonly dispatcher: Dispatcher;
}

export interface GitlabBundle {
  readonly actions: readonly RegisteredAction[];
  close(): Promise<void>;
}

/** A GitLab id: a number, or a string such as `group/sub/project` (go-gitlab's interface{} id). */
const gitlabId = z.union([z.string().min(1), z.number().int().nonnegative()]);

/** Path placeholders are required; every other input passes through as go-gitlab's options. */
export function inputSchemaFor(spec: GitlabActionSpec): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const p of pathParams(spec.path)) shape[p] = gitlabId;
  if (spec.special === 'graphql') {
    shape['query'] = z.string().min(1);
    shape['variables'] = z.record(z.string(), z.unknown()).optional();
  }
  if (spec.special === 'rawBlob') shape['decode'] = z.boolean().optional();
  if (spec.special === 'rawFile') shape['encoding'] = z.enum(['utf-8', 'base64']).optional();
  if (spec.special === 'projectOptions') shape['options'] = z.record(z.string(), z.unknown()).optional();
  return z.object(shape).loose();
}

export function createGitlabBundle(options: GitlabBundleOptions): GitlabBundle {
  const actions = GITLAB_ACTIONS.map((spec) =>
    defineAction({
      fqn: fqnOf(spec),
      inputSchema: inputSchemaFor(spec),
      run: (inputs, ctx) => runGitlabAction(spec, inputs, ctx, options.dispatcher),
    }),
  );
  return { actions, close: async () => {} };
}
