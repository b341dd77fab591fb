/**
 * The runner's identity in its config dir: `config.yaml`, as the seed's standalone runner keeps
 * it (URN, private key, allowlist), plus the control-plane keys pinned at enrollment. Written
 * once at enrollment with mode 0600; read by the runner and by workers (which need the pinned
 * keys and the runner id to re-verify tasks). The private key never leaves this file.
 */
import { mkdir, readFile, rename, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { runnerIdentitySchema, type RunnerIdentity } from '../contracts/runner-identity.js';
import { ParError } from '../errors/par-error.js';

export const IDENTITY_FILE = 'config.yaml';

export function identityPath(configDir: string): string {
  return join(configDir, IDENTITY_FILE);
}

/**
 * Reads the identity; `undefined` when the runner has not enrolled yet (no file). When the file is
 * absent, `fromEnv` (PAR_RUNNER_IDENTITY: base64 of a config.yaml, as `par runner --enroll -f env`
 * prints it) stands in for it, so a container can start from a secret without a config volume.
 */
export async function readIdentity(configDir: string, fromEnv?: string): Promise<RunnerIdentity | undefined> {
  const path = identityPath(configDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fromEnv === undefined ? undefined : decodeIdentity(fromEnv);
    throw new ParError('PAR_ERR_ENROLL_IDENTITY_INVALID', `${path}: ${(error as Error).message}`);
  }
  return parseIdentity(text, path);
}

/** The config.yaml text of an identity, as written at enrollment (and printed by `--enroll -f`). */
export function identityToYaml(identity: RunnerIdentity): string {
  return `# Written by par at enrollment. Private: keep mode 0600. Edit actionsAllowlist and restart to change it.\n${stringify(identity)}`;
}

/** PAR_RUNNER_IDENTITY's value: base64 of the config.yaml text. */
export function encodeIdentity(identity: RunnerIdentity): string {
  return Buffer.from(identityToYaml(identity), 'utf8').toString('base64');
}

export function decodeIdentity(base64: string): RunnerIdentity {
  const text = Buffer.from(base64.trim(), 'base64').toString('utf8');
  return parseIdentity(text, 'PAR_RUNNER_IDENTITY (base64 of a config.yaml)');
}

function parseIdentity(text: string, path: string): RunnerIdentity {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new ParError('PAR_ERR_ENROLL_IDENTITY_INVALID', `${path}: not valid YAML`);
  }
  const parsed = runnerIdentitySchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ParError('PAR_ERR_ENROLL_IDENTITY_INVALID', `${path}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  return parsed.data;
}

/** Writes the identity atomically (temp file + rename), readable by its owner only. */
export async function writeIdentity(configDir: string, identity: RunnerIdentity): Promise<string> {
  await mkdir(configDir, { recursive: true });
  const path = identityPath(configDir);
  const tmp = `${path}.${process.pid}.tmp`;
  const text = identityToYaml(identity);
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return path;
}
