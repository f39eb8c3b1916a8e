// The minimal kustomize against kustomize's own hash vectors and, where kubectl is on
// PATH, against `kubectl kustomize` on a fixture using every feature it supports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { compareRenderings, kubectlRender } from '../check-k8s.mjs';
import { configMapHash, KustomizeError, render } from '../kustomize.mjs';

const hasKubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { stdio: 'ignore' }).status === 0;
const root = mkdtempSync(join(tmpdir(), 'viya-mv-kustomize-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(files) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

test("ConfigMap names carry kustomize's hash", () => {
  // api/hasher's test vector: {"data":{"one":""},"kind":"ConfigMap","name":""}.
  assert.equal(configMapHash({ one: '' }), '9g67k2htb6');
  // What kubectl kustomize (kustomize 5.5) named generated ConfigMaps: a literal k=v, and a
  // file whose text Go's JSON escapes (<, >, &).
  assert.equal(configMapHash({ k: 'v' }), 'bdg947hgcc');
  assert.equal(
    configMapHash({ 'a.toml': 'x = "<a&b>"\n[http]\nlisten = "0.0.0.0:8080"\n' }),
    'tgbmmfk789',
  );
});

const fixture = {
  'base/kustomization.yaml': `
namespace: team
labels:
  - pairs: {app.kubernetes.io/name: demo}
resources: [service.yaml, ns.yaml]
configMapGenerator:
  - name: conf
    files: [app.toml, renamed.toml=other.toml]
`,
  'base/app.toml': 'a = "<&>"\n',
  'base/other.toml': 'b = 2\n',
  'base/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: placeholder}\n',
  'base/service.yaml': `
apiVersion: v1
kind: Service
metadata: {name: demo}
spec:
  selector: {app: demo}
  ports: [{name: http, port: 80, targetPort: http}]
`,
  'overlay/kustomization.yaml': `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: team
labels:
  - pairs: {tier: backend}
resources: [../base, workload.yaml]
configMapGenerator:
  - name: conf
    behavior: replace
    files: [app.toml]
images:
  - {name: demo, newTag: "1.2.3"}
  - {name: registry.local:5000/side, newName: mirror/side}
`,
  'overlay/app.toml': 'c = true\n',
  'overlay/workload.yaml': `
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo}
spec:
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      initContainers: [{name: init, image: "registry.local:5000/side:7"}]
      containers:
        - name: demo
          image: demo
          env: [{name: X, valueFrom: {configMapKeyRef: {name: conf, key: app.toml}}}]
          envFrom: [{configMapRef: {name: conf}}]
      volumes:
        - {name: c, configMap: {name: conf}}
        - {name: p, projected: {sources: [{configMap: {name: conf}}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store}
spec:
  serviceName: demo
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec:
      containers: [{name: store, image: "demo:old@sha256:${'a'.repeat(64)}"}]
`,
};

test('renders the supported features', () => {
  write(fixture);
  const objects = render(join(root, 'overlay'));
  const byKind = Object.fromEntries(objects.map((o) => [o.kind, o]));
  assert.equal(byKind.Namespace.metadata.name, 'team');
  assert.equal(byKind.Namespace.metadata.namespace, undefined);
  const cm = byKind.ConfigMap;
  assert.deepEqual(cm.data, { 'app.toml': 'c = true\n' });
  assert.equal(cm.metadata.name, `conf-${configMapHash(cm.data)}`);
  assert.deepEqual(cm.metadata.labels, { 'app.kubernetes.io/name': 'demo', tier: 'backend' });
  const d = byKind.Deployment;
  assert.equal(d.metadata.namespace, 'team');
  assert.deepEqual(d.metadata.labels, { tier: 'backend' });
  assert.deepEqual(d.spec.template.metadata.labels, { app: 'demo' });
  assert.deepEqual(d.spec.selector.matchLabels, { app: 'demo' });
  const pod = d.spec.template.spec;
  assert.equal(pod.containers[0].image, 'demo:1.2.3');
  assert.equal(pod.initContainers[0].image, 'mirror/side:7');
  assert.equal(pod.containers[0].env[0].valueFrom.configMapKeyRef.name, cm.metadata.name);
  assert.equal(pod.containers[0].envFrom[0].configMapRef.name, cm.metadata.name);
  assert.equal(pod.volumes[0].configMap.name, cm.metadata.name);
  assert.equal(pod.volumes[1].projected.sources[0].configMap.name, cm.metadata.name);
  assert.equal(byKind.StatefulSet.spec.template.spec.containers[0].image, 'demo:1.2.3');
});

test('agrees with kubectl kustomize', { skip: !hasKubectl && 'kubectl is not on PATH' }, () => {
  write(fixture);
  for (const dir of ['base', 'overlay']) {
    const cmp = compareRenderings(render(join(root, dir)), kubectlRender(join(root, dir)));
    assert.deepEqual(cmp, { differences: [], hashOnly: false }, dir);
  }
});

test('refuses what it does not implement', () => {
  write({
    'refuse/kustomization.yaml': 'resources: [svc.yaml]\npatches:\n  - path: p.yaml\n',
    'refuse/svc.yaml': fixture['base/service.yaml'],
    'refuse-labels/kustomization.yaml': 'labels:\n  - pairs: {a: b}\n    includeSelectors: true\n',
    'refuse-merge/kustomization.yaml':
      'configMapGenerator:\n  - name: c\n    behavior: merge\n    literals: [a=b]\n',
  });
  assert.throws(
    () => render(join(root, 'refuse')),
    (e) => e instanceof KustomizeError && /'patches' is not supported/.test(e.message),
  );
  assert.throws(
    () => render(join(root, 'refuse-labels')),
    /labels 'includeSelectors' is not supported/,
  );
  assert.throws(
    () => render(join(root, 'refuse-merge')),
    /configMapGenerator 'literals' is not supported/,
  );
  assert.throws(() => render(join(root, 'nowhere')), /no kustomization.yaml/);
});
