/**
 * The client commands of `par` (tasks, runners, connections, keys, key rotation, audit,
 * healthcheck). Registered by main.ts only when the command line is not one of the long-running
 * roles: their modules (the HTTP client, the control-plane store, the runner's identity and audit
 * code) would otherwise sit in the memory of every control plane, runner and worker.
 */
import type { Command } from 'commander';
import { loadRunnerConfig } from '../config/runner.js';
import { registerTaskCommands } from './task-commands.js';
import { registerRunnersCommands } from './runners-commands.js';
import { registerConnectionsCommands } from './connections-commands.js';
import { registerKeysCommands } from './keys-commands.js';
import { registerTasksCommands } from './tasks-commands.js';
import { registerKeyRotationCommands } from './key-rotation-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerHealthcheckCommand } from './healthcheck.js';

export function registerClientCommands(program: Command, env: NodeJS.ProcessEnv): void {
  registerHealthcheckCommand(program, env);
  registerTaskCommands(program);
  registerRunnersCommands(program);
  registerConnectionsCommands(program);
  registerKeysCommands(program);
  registerTasksCommands(program);
  registerKeyRotationCommands(program);
  registerAuditCommands(program, () => {
    const config = loadRunnerConfig(env);
    return {
      configDir: config.configDir,
      ...(config.auditDir ? { auditDir: config.auditDir } : {}),
      ...(config.runnerIdentity ? { runnerIdentity: config.runnerIdentity } : {}),
    };
  });
}
