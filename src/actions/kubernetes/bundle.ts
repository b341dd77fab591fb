/**
 * The `com.datadoghq.kubernetes.core`, `.apps`, `.batch`, `.apiextensions`, `.discovery`,
 * `.customresources` and `.autoscaling` bundles. They share one client cache (per kubeconfig file
 * version and context), created once per worker.
 */
import type { RegisteredAction } from '../action.js';
import { KubeClients } from './clients.js';
import { crudActions } from './crud-actions.js';
import { customResourceActions } from './custom-resource-actions.js';
import { scalingActions } from './scaling-actions.js';
import { deploymentActions } from './deployment-actions.js';
import { podLogsAction } from './pod-logs.js';

export interface KubernetesBundle {
  readonly name: string;
  readonly actions: readonly RegisteredAction[];
  close(): Promise<void>;
}

export interface KubernetesBundleOptions {
  /** The worker's environment (from the composition root): exec plugins get PATH, HOME and locale of it, never all of it. */
  readonly parentEnv?: Readonly<Record<string, string | undefined>>;
}

export function createKubernetesBundles(options: KubernetesBundleOptions = {}): KubernetesBundle[] {
  const clients = new KubeClients(options.parentEnv);
  const bundle = (name: string, actions: RegisteredAction[], close: () => Promise<void> = async () => {}): KubernetesBundle => ({
    name,
    actions,
    close,
  });
  const scaling = scalingActions(clients);
  return [
    bundle('com.datadoghq.kubernetes.core', [...crudActions('core', clients), podLogsAction(clients)], () => {
      clients.close();
      return Promise.resolve();
    }),
    bundle('com.datadoghq.kubernetes.apps', [...crudActions('apps', clients), ...deploymentActions(clients), ...scaling.apps]),
    bundle('com.datadoghq.kubernetes.batch', [...crudActions('batch', clients), ...scaling.batch]),
    bundle('com.datadoghq.kubernetes.apiextensions', crudActions('apiextensions', clients)),
    bundle('com.datadoghq.kubernetes.discovery', crudActions('discovery', clients)),
    bundle('com.datadoghq.kubernetes.customresources', customResourceActions(clients)),
    bundle('com.datadoghq.kubernetes.autoscaling', scaling.autoscaling),
  ];
}
