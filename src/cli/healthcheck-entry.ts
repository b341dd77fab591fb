/**
 * `par healthcheck [role] [--liveness]` without the rest of the CLI: bin/par.js takes this path
 * for the compiled build, so a container or Kubernetes probe (every few seconds, per pod) loads
 * only what the check needs, not commander and every sub-command. Same command, same output as
 * through src/cli/main.ts (which handles help and anything unusual).
 */
import { healthcheckCommand } from './healthcheck.js';

const args = process.argv.slice(3);
const liveness = args.includes('--liveness');
const positional = args.filter((a) => a !== '--liveness');
if (positional.length > 1 || positional.some((a) => a.startsWith('-'))) {
  process.stderr.write(
    `par healthcheck: unexpected arguments ${positional.join(' ')}; usage: par healthcheck [control-plane|runner|worker] [--liveness]\n`,
  );
  process.exit(1);
}
await healthcheckCommand(positional[0], { liveness }, process.env);
