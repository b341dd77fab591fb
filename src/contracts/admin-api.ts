/**
 * Wire schemas of the control plane's admin API (issue 4): principals, keys, per-runner access,
 * connections and task lists. The server parses requests with these and the CLI and web page
 * parse responses with them. All routes are under /api/v1 and take the app key in
 * DD-APPLICATION-KEY. Blocks owned by other areas are appended below, clearly separated.
 */
import { z } from 'zod';
import { idSchema } from './ids.js';
import { runnerViewSchema, taskViewSchema } from './tasks-api.js';

// ---------------------------------------------------------------------------------------------
// Access control, principals, keys, connections, task lists (engineer A)
// ---------------------------------------------------------------------------------------------

const enc = encodeURIComponent;

export const ADMIN_API = {
  me: '/api/v1/me',
  users: '/api/v1/users',
  teams: '/api/v1/teams',
  teamMembers: (teamId: string) => `/api/v1/teams/${enc(teamId)}/members`,
  serviceAccounts: '/api/v1/service-accounts',
  roles: '/api/v1/roles',
  apiKeys: '/api/v1/api-keys',
  apiKey: (id: string) => `/api/v1/api-keys/${enc(id)}`,
  appKeys: '/api/v1/app-keys',
  appKey: (id: string) => `/api/v1/app-keys/${enc(id)}`,
  runners: '/api/v1/runners',
  runner: (runnerId: string) => `/api/v1/runners/${enc(runnerId)}`,
  runnerGrants: (runnerId: string) => `/api/v1/runners/${enc(runnerId)}/grants`,
  connections: '/api/v1/connections',
  connection: (id: string) => `/api/v1/connections/${enc(id)}`,
  tasks: '/api/v1/tasks',
} as const;

/** Built-in org roles: `admin` is editor on every runner and manages users and keys. */
export const orgRoleSchema = z.enum(['admin', 'standard', 'read_only']);
export type OrgRole = z.infer<typeof orgRoleSchema>;

/** Per-runner access levels, weakest first. */
export const RUNNER_ACCESS_LEVELS = ['viewer', 'contributor', 'editor'] as const;
export const runnerAccessSchema = z.enum(RUNNER_ACCESS_LEVELS);
export type RunnerAccess = z.infer<typeof runnerAccessSchema>;

/**
 * App key scopes. `runners_read` is the historical name of `on_prem_runner_read`: both are
 * accepted and mean the same.
 */
export const SCOPE_NAMES = [
  'on_prem_runner_write',
  'on_prem_runner_read',
  'runners_read',
  'connections_read',
  'connections_write',
  'actions_run',
  'user_access_manage',
] as const;
export const scopeSchema = z.enum(SCOPE_NAMES);
export type ScopeName = z.infer<typeof scopeSchema>;

export const principalTypeSchema = z.enum(['user', 'team', 'role', 'service_account']);

/** Who a grant is for; for a role, `id` is the role name. */
export const principalRefSchema = z
  .object({
    type: principalTypeSchema,
    id: idSchema,
  })
  .strict();
export type PrincipalRef = z.infer<typeof principalRefSchema>;

/** Who can own an app key (and so be a caller). */
export const keyOwnerSchema = z
  .object({
    type: z.enum(['user', 'service_account']),
    id: idSchema,
  })
  .strict();

// --- me, users, teams, service accounts, roles ------------------------------------------------

export const meResponseSchema = z.object({
  principal: z.object({ type: z.enum(['user', 'service_account']), id: z.string(), name: z.string() }),
  orgId: z.string(),
  roles: z.array(z.string()),
  scopes: z.array(z.string()),
});

const nameSchema = z.string().trim().min(1).max(100);

export const userViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string(),
  roles: z.array(z.string()),
  createdAt: z.number().optional(),
});
export type UserView = z.infer<typeof userViewSchema>;
export const createUserRequestSchema = z
  .object({
    name: nameSchema,
    email: z.string().trim().check(z.email()),
    roles: z.array(orgRoleSchema).default(['standard']),
  })
  .strict();
export const usersResponseSchema = z.object({ users: z.array(userViewSchema) });

export const teamViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  members: z.array(z.string()),
  createdAt: z.number().optional(),
});
export type TeamView = z.infer<typeof teamViewSchema>;
export const createTeamRequestSchema = z
  .object({
    name: nameSchema,
    members: z.array(idSchema).max(1000).default([]),
  })
  .strict();
export const teamMembersRequestSchema = z.object({ members: z.array(idSchema).max(1000) }).strict();
export const teamsResponseSchema = z.object({ teams: z.array(teamViewSchema) });

export const serviceAccountViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
  createdAt: z.number().optional(),
});
export type ServiceAccountView = z.infer<typeof serviceAccountViewSchema>;
export const createServiceAccountRequestSchema = z
  .object({
    name: nameSchema,
    roles: z.array(orgRoleSchema).default(['standard']),
  })
  .strict();
export const serviceAccountsResponseSchema = z.object({ serviceAccounts: z.array(serviceAccountViewSchema) });

export const roleViewSchema = z.object({ id: orgRoleSchema, name: z.string(), description: z.string() });
export const rolesResponseSchema = z.object({ roles: z.array(roleViewSchema) });

// --- API keys (org level, for enrollment) and app keys ---------------------------------------

export const apiKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.number(),
  revokedAt: z.number().optional(),
});
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;
export const createApiKeyRequestSchema = z.object({ name: nameSchema }).strict();
/** The key itself appears only in this response; the control plane keeps its hash. */
export const createApiKeyResponseSchema = z.object({ id: z.string(), name: z.string(), key: z.string() });
export type CreateApiKeyResponse = z.infer<typeof createApiKeyResponseSchema>;
export const apiKeysResponseSchema = z.object({ apiKeys: z.array(apiKeyViewSchema) });

export const appKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  owner: keyOwnerSchema,
  createdAt: z.number(),
  revokedAt: z.number().optional(),
});
export type AppKeyView = z.infer<typeof appKeyViewSchema>;
export const createAppKeyRequestSchema = z
  .object({
    name: nameSchema,
    scopes: z.array(scopeSchema).min(1),
    /** Defaults to the caller; another principal needs `user_access_manage`. */
    owner: keyOwnerSchema.optional(),
  })
  .strict();
export type CreateAppKeyRequest = z.input<typeof createAppKeyRequestSchema>;
export const createAppKeyResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  owner: keyOwnerSchema,
  key: z.string(),
});
export type CreateAppKeyResponse = z.infer<typeof createAppKeyResponseSchema>;
export const appKeysResponseSchema = z.object({ appKeys: z.array(appKeyViewSchema) });

// --- runners and grants -----------------------------------------------------------------------

/** Filled by the health area (B); absent until then. */
export const runnerStatusSchema = z.enum(['ready', 'unhealthy', 'offline', 'never_connected']);
export type RunnerStatus = z.infer<typeof runnerStatusSchema>;
export const runnerHealthSchema = z.object({
  version: z.string(),
  platform: z.string(),
  allowlist: z.array(z.string()),
  capacity: z.number(),
  inFlight: z.number(),
  receivedAt: z.number(),
  healthy: z.boolean().optional(),
  problems: z.array(z.string()).optional(),
});
export type RunnerHealth = z.infer<typeof runnerHealthSchema>;

/** A runner as the admin API shows it: with the caller's access and its connection count. */
export const adminRunnerViewSchema = runnerViewSchema.extend({
  access: runnerAccessSchema,
  status: runnerStatusSchema.optional(),
  health: runnerHealthSchema.optional(),
  connections: z.number().int(),
});
export type AdminRunnerView = z.infer<typeof adminRunnerViewSchema>;
export const runnersResponseSchema = z.object({ runners: z.array(adminRunnerViewSchema) });

export const grantSchema = z.object({ principal: principalRefSchema, role: runnerAccessSchema });
export type Grant = z.infer<typeof grantSchema>;
export const grantsResponseSchema = z.object({ grants: z.array(grantSchema) });
/** `none` removes the principal's grant. */
export const putGrantRequestSchema = z
  .object({
    principal: principalRefSchema,
    role: z.enum([...RUNNER_ACCESS_LEVELS, 'none']),
  })
  .strict();
export type PutGrantRequest = z.infer<typeof putGrantRequestSchema>;

export const deleteRunnerQuerySchema = z.object({
  force: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

// --- connections ------------------------------------------------------------------------------

export const INTEGRATIONS = ['http', 'script', 'kubernetes', 'postgresql', 'jenkins', 'gitlab', 'mongodb', 'temporal'] as const;
export const integrationSchema = z.enum(INTEGRATIONS);

/**
 * Path of the credential file on the runner, relative to its config dir: the control plane only
 * ever knows where the secret is, never the secret.
 */
export function isConfigRelativePath(p: string): boolean {
  return (
    p.length > 0 &&
    !p.startsWith('/') &&
    !p.startsWith('\\') &&
    !p.startsWith('~') &&
    !/^[A-Za-z]:/.test(p) &&
    !p.includes('\0') &&
    !p.split(/[\\/]/).includes('..')
  );
}
export const CONFIG_RELATIVE_PATH_RULE = 'must be a relative path inside the runner config dir (no leading / or ~, no .. segment)';
export const credentialPathSchema = z.string().min(1).max(500).refine(isConfigRelativePath, CONFIG_RELATIVE_PATH_RULE);

/** Non-secret settings: base URL, header templates, kubeconfig context... (secret-named keys refused). */
export const connectionSettingsSchema = z.record(z.string(), z.unknown());

export const connectionViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  runnerId: z.string(),
  integration: z.string(),
  settings: connectionSettingsSchema,
  credentialPath: z.string().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type ConnectionView = z.infer<typeof connectionViewSchema>;
export const connectionsResponseSchema = z.object({ connections: z.array(connectionViewSchema) });

export const createConnectionRequestSchema = z
  .object({
    name: nameSchema,
    runnerId: idSchema,
    integration: integrationSchema,
    settings: connectionSettingsSchema.default({}),
    credentialPath: credentialPathSchema.optional(),
  })
  .strict();
export type CreateConnectionRequest = z.input<typeof createConnectionRequestSchema>;

/** Partial update; `credentialPath: null` removes the path. The runner and integration are fixed. */
export const updateConnectionRequestSchema = z
  .object({
    name: nameSchema.optional(),
    settings: connectionSettingsSchema.optional(),
    credentialPath: credentialPathSchema.nullable().optional(),
  })
  .strict();

export const listConnectionsQuerySchema = z.object({ runnerId: idSchema.optional() });

// --- task list --------------------------------------------------------------------------------

export const MAX_TASK_LIST_LIMIT = 200;
export const listTasksQuerySchema = z.object({
  runnerId: idSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_TASK_LIST_LIMIT).default(50),
});
/** Newest first. */
export const tasksResponseSchema = z.object({ tasks: z.array(taskViewSchema) });

// ---------------------------------------------------------------------------------------------
// Runner creation, one-time enrollment tokens, install snippets (engineer B). Health and status
// schemas are above (runnerStatusSchema, runnerHealthSchema); the runner's health check itself is
// in runner-api.ts.
// ---------------------------------------------------------------------------------------------

export const RUNNER_ENROLLMENT_API = {
  /** POST: a new token for a runner that never enrolled (editor). */
  enrollmentToken: (runnerId: string) => `/api/v1/runners/${enc(runnerId)}/enrollment-token`,
} as const;

export const createRunnerRequestSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore'),
    allowlist: z.array(z.string().trim().min(1).max(300)).max(1000).default([]),
    modes: z
      .array(z.enum(['pull']))
      .min(1)
      .default(['pull']),
  })
  .strict();

/** Ready-to-paste commands and files that start a runner enrolling with the token. */
export const installSnippetsSchema = z.object({
  dockerRun: z.string(),
  compose: z.string(),
  kubernetes: z.string(),
  parRunner: z.string(),
});

/** The token appears only in this response (the control plane keeps its hash); one-time, expiring. */
export const enrollmentTokenViewSchema = z.object({
  token: z.string(),
  expiresAt: z.number(),
  snippets: installSnippetsSchema,
});
export type EnrollmentTokenView = z.infer<typeof enrollmentTokenViewSchema>;

export const createRunnerResponseSchema = z.object({
  runner: adminRunnerViewSchema,
  enrollment: enrollmentTokenViewSchema,
});
export type CreateRunnerResponse = z.infer<typeof createRunnerResponseSchema>;

export const enrollmentTokenResponseSchema = z.object({ enrollment: enrollmentTokenViewSchema });
export type EnrollmentTokenResponse = z.infer<typeof enrollmentTokenResponseSchema>;
