// The manifest checks can fail: each case breaks a copy of deploy/k8s the way a careless
// edit would and requires check-k8s to say so. The copy starts from the repository's files
// with the PrometheusRule regenerated, and must pass unbroken.
//
// VIYA_MV_BINARY (tests/deploy/node_checks.sh k8s sets it) adds the cases that need viya-mv.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { checkDeploy, projectVersion } from '../check-k8s.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const binary =
  process.env.VIYA_MV_BINARY && existsSync(process.env.VIYA_MV_BINARY)
    ? resolve(process.env.VIYA_MV_BINARY)
    : undefined;
const hasKubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { stdio: 'ignore' }).status === 0;
const version = projectVersion(repo);
const COPIED = ['deploy/k8s', 'deploy/prometheus/viya-mv-rules.yml', 'CMakeLists.txt'];
const WORKER = 'deploy/k8s/overlays/mongodb/mv-worker.yaml';
const API = 'deploy/k8s/overlays/mongodb/mv-api.yaml';
const STATEFULSET = 'deploy/k8s/overlays/embedded/statefulset.yaml';

let pristine;
before(() => {
  pristine = mkdtempSync(join(tmpdir(), 'viya-mv-k8s-pristine-'));
  for (const p of COPIED) cpSync(join(repo, p), join(pristine, p), { recursive: true });
  const sync = spawnSync('bash', [join(pristine, 'deploy/k8s/sync-rules.sh')], {
    encoding: 'utf8',
  });
  assert.equal(sync.status, 0, sync.stderr);
});
after(() => rmSync(pristine, { recursive: true, force: true }));

// A fresh copy with `edits` applied: {path: [[from, to], ...]}, each `from` found exactly
// once (so that a change of the manifests breaks this test, not silently its case), or
// {path: text} to write a file.
function copyWith(edits) {
  const root = mkdtempSync(join(tmpdir(), 'viya-mv-k8s-'));
  cpSync(pristine, root, { recursive: true });
  for (const [path, edit] of Object.entries(edits)) {
    const file = join(root, path);
    if (typeof edit === 'string') {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, edit);
      continue;
    }
    let text = readFileSync(file, 'utf8');
    for (const [from, to] of edit) {
      assert.equal(text.split(from).length - 1, 1, `${path}: '${from}' should occur exactly once`);
      text = text.replace(from, to);
    }
    writeFileSync(file, text);
  }
  return root;
}

function failuresOf(edits, { kubectl = false } = {}) {
  const root = copyWith(edits);
  try {
    const { results, syncFailures } = checkDeploy({ root, binary, kubectl });
    return [
      ...syncFailures,
      ...results.flatMap((r) => r.failures.map((f) => `${r.overlay}: ${f}`)),
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function assertCaught(edits, pattern, options) {
  const failures = failuresOf(edits, options);
  assert.ok(
    failures.some((f) => pattern.test(f)),
    `expected a failure matching ${pattern}, got:\n${failures.join('\n') || '(none)'}`,
  );
}

test('the manifests as they are pass', () => {
  assert.deepEqual(failuresOf({}, { kubectl: hasKubectl }), []);
});

test('quantities compare by value: 2 CPUs are 2000m', () => {
  assert.deepEqual(failuresOf({ [WORKER]: [['cpu: "2"', 'cpu: 2000m']] }), []);
});

const cases = [
  [
    'a second worker',
    { [WORKER]: [['replicas: 1', 'replicas: 2']] },
    /mv-worker: replicas 2, not 1/,
  ],
  [
    'a rolling worker',
    { [WORKER]: [['type: Recreate', 'type: RollingUpdate']] },
    /mv-worker: strategy RollingUpdate, not Recreate/,
  ],
  ['less memory', { [WORKER]: [['memory: 4Gi', 'memory: 2Gi']] }, /limits\.memory 2Gi, not 4Gi/],
  [
    'a larger cpu limit, in millicores',
    { [WORKER]: [['cpu: "2"', 'cpu: 3000m']] },
    /limits\.cpu 3000m, not 2/,
  ],
  [
    'no preStop sleep',
    { [WORKER]: [['command: ["sleep", "10"]', 'command: ["true"]']] },
    /mv-worker.*no preStop sleep/,
  ],
  [
    'a short grace period',
    { [API]: [['terminationGracePeriodSeconds: 60', 'terminationGracePeriodSeconds: 30']] },
    /mv-api.*terminationGracePeriodSeconds 30 < preStop 10 s \+ drain 10 s/,
  ],
  [
    'a drain longer than the grace period',
    {
      'deploy/k8s/base/viya-mv.toml': [['drain_timeout_ms = 10000', 'drain_timeout_ms = 45000']],
    },
    /embedded: .*StatefulSet\/viya-mv.*terminationGracePeriodSeconds 60 < preStop 10 s \+ drain 45 s/,
  ],
  [
    'readiness on the wrong path',
    { [API]: [['path: /readyz', 'path: /healthz']] },
    /mv-api.*readinessProbe path \/healthz, not \/readyz/,
  ],
  [
    'a misspelt probe',
    { [STATEFULSET]: [['livenessProbe:', 'livenesProbe:']] },
    /spec\.template\.spec\.containers\.0\.livenesProbe: not a field of StatefulSet/,
  ],
  [
    'a Service that selects nothing',
    {
      'deploy/k8s/base/service.yaml': [['    app.kubernetes.io/name: viya-mv', '    app: viya-mv']],
    },
    /Service viya-mv selector \{"app":"viya-mv"\} does not select its pods/,
  ],
  [
    'a pod label the Service misses',
    {
      [WORKER]: [
        [
          '      labels:\n        app.kubernetes.io/name: viya-mv',
          '      labels:\n        app.kubernetes.io/name: mv',
        ],
      ],
    },
    /mv-worker: .*does not select its pods|mv-worker: selector .* does not match its pod labels/,
  ],
  [
    'a ServiceMonitor on another port',
    { 'deploy/k8s/base/service-monitor.yaml': [['- port: http', '- port: metrics']] },
    /endpoint port metrics, not the Service's port http/,
  ],
  [
    'a ServiceMonitor selecting no Service',
    {
      'deploy/k8s/base/service-monitor.yaml': [
        ['      app.kubernetes.io/name: viya-mv', '      app.kubernetes.io/name: other'],
      ],
    },
    /ServiceMonitor\/viya-mv: selector .* does not select Service viya-mv/,
  ],
  [
    'a rule changed in the rules file only',
    {
      'deploy/prometheus/viya-mv-rules.yml': [
        ['- alert: MvChangeStreamStopped', '- alert: MvChangeStreamHalted'],
      ],
    },
    /spec\.groups differ from .*viya-mv-rules\.yml/,
  ],
  [
    'a comment changed in the rules file only',
    {
      'deploy/prometheus/viya-mv-rules.yml': [['groups:\n', '# a new comment\ngroups:\n']],
    },
    /prometheus-rule\.yaml is not what deploy\/k8s\/sync-rules\.sh makes/,
  ],
  [
    'the source URI in plain text',
    {
      [WORKER]: [
        [
          '- name: VIYA_MV_SOURCE_URI\n              valueFrom:\n                secretKeyRef:\n                  name: viya-mv-secrets\n                  key: source-uri',
          '- name: VIYA_MV_SOURCE_URI\n              value: mongodb://user:pass@mongo:27017',
        ],
      ],
    },
    /mv-worker.*VIYA_MV_SOURCE_URI is not taken from a Secret/,
  ],
  [
    'the URI in the ConfigMap',
    {
      'deploy/k8s/overlays/mongodb/viya-mv.toml': [
        [
          'backend = "mongodb"\ndatabase = "viya"\n',
          'backend = "mongodb"\ndatabase = "viya"\nuri = "mongodb://u:p@h/"\n',
        ],
      ],
    },
    /source\.uri is set in the ConfigMap/,
  ],
  [
    'a writable root filesystem',
    { [WORKER]: [['readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false']] },
    /mv-worker.*readOnlyRootFilesystem is not true/,
  ],
  [
    'root',
    { [STATEFULSET]: [['        runAsUser: 10001', '        runAsUser: 0']] },
    /StatefulSet\/viya-mv.*runs as uid 0, not 10001/,
  ],
  [
    'listening on loopback',
    { 'deploy/k8s/base/viya-mv.toml': [['listen = "0.0.0.0:8080"', 'listen = "127.0.0.1:8080"']] },
    /http\.listen 127\.0\.0\.1:8080: the kubelet and the Service cannot reach/,
  ],
  [
    'the data folder on the root filesystem',
    { 'deploy/k8s/base/viya-mv.toml': [['data_dir = "/var/lib/viya-mv"', 'data_dir = "/data"']] },
    /data_dir \/data is on no writable volume/,
  ],
  [
    'views not in MongoDB',
    {
      'deploy/k8s/overlays/mongodb/viya-mv.toml': [
        ['backend = "mongodb"\ndatabase = "viya_mv"', 'backend = "sqlite"\ndatabase = "viya_mv"'],
      ],
    },
    /mv-api.*views\.backend is "sqlite", not "mongodb"/,
  ],
  [
    'a release the image tag does not follow',
    { 'CMakeLists.txt': [[`VERSION ${version}`, 'VERSION 99.0.0']] },
    /image viya-mv:[0-9.]+, not viya-mv:99\.0\.0/,
  ],
  [
    'an unknown kind',
    {
      'deploy/k8s/overlays/embedded/extra.yaml':
        'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
      'deploy/k8s/overlays/embedded/kustomization.yaml': [
        ['  - statefulset.yaml\n', '  - statefulset.yaml\n  - extra.yaml\n'],
      ],
    },
    /Widget: no model for this kind/,
  ],
  [
    'owning the shared namespace',
    {
      'deploy/k8s/base/namespace.yaml':
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: viya-jobs\n',
      'deploy/k8s/base/kustomization.yaml': [
        ['  - service-account.yaml\n', '  - namespace.yaml\n  - service-account.yaml\n'],
      ],
    },
    /must not own a Namespace/,
  ],
  [
    'a kustomize feature the renderer lacks',
    {
      'deploy/k8s/overlays/embedded/kustomization.yaml': [
        ['images:', 'replicas:\n  - name: viya-mv\n    count: 1\nimages:'],
      ],
    },
    /'replicas' is not supported by tools\/deploy\/kustomize\.mjs/,
  ],
];

for (const [name, edits, pattern] of cases) {
  test(`caught: ${name}`, () => assertCaught(edits, pattern));
}

test(
  'caught by kubectl and the renderer alike: a missing resource file',
  { skip: !hasKubectl && 'kubectl is not on PATH' },
  () => {
    const failures = failuresOf(
      {
        'deploy/k8s/overlays/embedded/kustomization.yaml': [
          ['  - statefulset.yaml\n', '  - statefulset.yaml\n  - missing.yaml\n'],
        ],
      },
      { kubectl: true },
    );
    assert.ok(
      failures.some((f) => /kustomize\.mjs: .*missing\.yaml does not exist/.test(f)),
      failures.join('\n'),
    );
    assert.ok(
      failures.some((f) => /kubectl kustomize .*missing\.yaml/.test(f)),
      failures.join('\n'),
    );
  },
);

test(
  'caught by viya-mv itself: a configuration key it does not know',
  { skip: !binary && 'VIYA_MV_BINARY not set' },
  () => {
    assertCaught(
      { 'deploy/k8s/base/viya-mv.toml': [['[log]\n', '[log]\nlevle = "debug"\n']] },
      /StatefulSet\/viya-mv.*--print-config: exit 2: .*unknown key 'log\.levle'/,
    );
  },
);

test(
  'caught by viya-mv itself: a role it does not know',
  { skip: !binary && 'VIYA_MV_BINARY not set' },
  () => {
    assertCaught(
      { [API]: [['"--role", "api"', '"--role", "reader"']] },
      /mv-api.*--print-config: exit/,
    );
  },
);
