/**
 * @kubernetes/client-node, imported on the first Kubernetes task (as the MongoDB and Temporal
 * bundles do with their libraries): it costs about 1 s of start-up and 45 MB per worker, which
 * workers that never run a Kubernetes action should not pay.
 */
export type KubeLibrary = typeof import('@kubernetes/client-node');

let loading: Promise<KubeLibrary> | undefined;

export function kubeLibrary(): Promise<KubeLibrary> {
  loading ??= import('@kubernetes/client-node').catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
