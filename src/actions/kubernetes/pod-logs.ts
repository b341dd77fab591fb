/**
 * `com.datadoghq.kubernetes.core.getPodLogs`: a pod's (container's) log as text, from
 * GET .../pods/{name}/log. Named as an action on the Pod kind, like the generated ones. The
 * output is `{ logs }`; the size is capped by the worker's response cap (use tailLines or
 * limitBytes for long logs). Following (`follow=true`) is not offered: a task returns once.
 */
import { defineAction, type RegisteredAction } from '../action.js';
import type { KubeClients } from './clients.js';
import { callContext } from './crud-actions.js';
import { podLogsInputSchema } from './inputs.js';
import { bundleFqn, resourceByKind, resourcePath } from './resources.js';

const POD = resourceByKind('Pod');

export function podLogsAction(clients: KubeClients): RegisteredAction {
  return defineAction({
    fqn: bundleFqn('core', 'getPodLogs'),
    inputSchema: podLogsInputSchema,
    run: async ({ namespace, name, ...query }, ctx) => {
      const client = await clients.forTask(ctx);
      const logs = await client.text(
        { method: 'GET', path: resourcePath(POD, { namespace, name, subresource: 'log' }), query },
        callContext(ctx),
      );
      return { logs };
    },
  });
}
