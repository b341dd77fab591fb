/**
 * The Kubernetes catalogue as the vendor names it (registry entrypoints of
 * pkg/privateactionrunner/bundles/kubernetes/**), and the requests and input rules of the newer
 * actions, without a server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKubernetesBundles } from '../../src/actions/kubernetes/bundle.js';
import { buildCrudRequest, crudActionName } from '../../src/actions/kubernetes/crud-actions.js';
import { isNativeApiGroup } from '../../src/actions/kubernetes/custom-resource-actions.js';
import { QUANTITY, crudInputSchema } from '../../src/actions/kubernetes/inputs.js';
import { resourceByKind } from '../../src/actions/kubernetes/resources.js';
import { verticalPatch } from '../../src/actions/kubernetes/scaling-actions.js';

const names = () => new Set(createKubernetesBundles().flatMap((b) => b.actions.map((a) => a.fqn)));
const VERBS = ['create', 'update', 'delete', 'get', 'list', 'patch'];

describe('kubernetes catalogue', () => {
  it('has the vendor FQNs of the remaining core kinds, EndpointSlices and CRDs, each with deleteMultiple', () => {
    const all = names();
    const expect = (bundle: string, kind: string, kinds = `${kind}s`) => {
      for (const verb of VERBS) assert.ok(all.has(`com.datadoghq.kubernetes.${bundle}.${verb}${kind}`), `${bundle}.${verb}${kind}`);
      assert.ok(all.has(`com.datadoghq.kubernetes.${bundle}.deleteMultiple${kinds}`), `${bundle}.deleteMultiple${kinds}`);
    };
    for (const kind of [
      'LimitRange',
      'PersistentVolume',
      'PersistentVolumeClaim',
      'PodTemplate',
      'ReplicationController',
      'ResourceQuota',
      'ServiceAccount',
      'ConfigMap',
      'Pod',
    ])
      expect('core', kind);
    expect('core', 'Endpoints', 'Endpoints');
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision']) expect('apps', kind);
    for (const kind of ['Job', 'CronJob']) expect('batch', kind);
    expect('discovery', 'EndpointSlice');
    expect('apiextensions', 'CustomResourceDefinition');
    for (const noun of ['CustomObject', 'ClusterCustomObject']) {
      for (const verb of VERBS) assert.ok(all.has(`com.datadoghq.kubernetes.customresources.${verb}${noun}`), `${verb}${noun}`);
      assert.ok(all.has(`com.datadoghq.kubernetes.customresources.deleteMultiple${noun}s`));
    }
    for (const fqn of [
      'apps.scaleDeploymentVertically',
      'apps.scaleStatefulSetHorizontally',
      'apps.scaleStatefulSetVertically',
      'autoscaling.updateAutoscalerLimits',
      'batch.updateCronJobSchedule',
    ]) {
      assert.ok(all.has(`com.datadoghq.kubernetes.${fqn}`), fqn);
    }
    // As the vendor: no deleteMultiple for Services and Namespaces.
    assert.equal(all.has('com.datadoghq.kubernetes.core.deleteMultipleServices'), false);
    assert.equal(all.has('com.datadoghq.kubernetes.core.deleteMultipleNamespaces'), false);
  });

  it('a deletecollection puts list options in the query and DeleteOptions in the body, as client-go does', () => {
    const req = buildCrudRequest(resourceByKind('Deployment'), 'deleteMultiple', {
      namespace: 'prod',
      labelSelector: 'app=old',
      fieldSelector: 'metadata.name!=keep',
      limit: 50,
      dryRun: true,
      gracePeriodSeconds: 0,
      propagationPolicy: 'Foreground',
    });
    assert.deepEqual(req, {
      method: 'DELETE',
      path: '/apis/apps/v1/namespaces/prod/deployments',
      query: { labelSelector: 'app=old', fieldSelector: 'metadata.name!=keep', limit: 50 },
      body: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'], gracePeriodSeconds: 0, propagationPolicy: 'Foreground' },
    });
    assert.equal(buildCrudRequest(resourceByKind('PersistentVolume'), 'deleteMultiple', {}).path, '/api/v1/persistentvolumes');
    assert.equal(
      crudActionName(resourceByKind('CustomResourceDefinition'), 'deleteMultiple'),
      'com.datadoghq.kubernetes.apiextensions.deleteMultipleCustomResourceDefinitions',
    );
    assert.equal(
      crudInputSchema('deleteMultiple', true).safeParse({ namespace: 'a', name: 'x' }).success,
      false,
      'strict: no stray fields',
    );
  });

  it('custom object groups: only non-native groups; quantities as resource.ParseQuantity reads them', () => {
    for (const g of [
      '',
      'apps',
      'batch',
      'autoscaling',
      'policy',
      'extensions',
      'k8s.io',
      'networking.k8s.io',
      'kubernetes.io',
      'x.kubernetes.io',
    ])
      assert.equal(isNativeApiGroup(g), true, g);
    for (const g of ['example.com', 'cert-manager.io', 'argoproj.io', 'k8s.io.example.com']) assert.equal(isNativeApiGroup(g), false, g);
    for (const q of ['100m', '0.5', '1', '128Mi', '1Gi', '512M', '1e3', '.5', '+1']) assert.ok(QUANTITY.test(q), q);
    for (const q of ['', 'lots', '1 Gi', '1gi', '1GiB', '--1']) assert.ok(!QUANTITY.test(q), q);
  });

  it('the vertical scaling patch names each container with only the values given', () => {
    assert.deepEqual(
      verticalPatch([
        { containerName: 'a', requests: { cpu: '1' } },
        { containerName: 'b' },
        { containerName: 'c', limits: { memory: '1Gi' }, requests: {} },
      ]),
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'a', resources: { requests: { cpu: '1' } } },
                { name: 'b' },
                { name: 'c', resources: { limits: { memory: '1Gi' } } },
              ],
            },
          },
        },
      },
    );
  });
});
