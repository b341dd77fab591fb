/**
 * `@kubernetes/client-node`, loaded on the first Kubernetes task rather than at worker start: it
 * is by far the heaviest import of a worker (over a second of CPU on a small machine), and most
 * workers never run a Kubernetes action. Loaded once; later calls share the module.
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
