#!/usr/bin/env node
// Checks the Kubernetes manifests of deploy/k8s. For each overlay under
// deploy/k8s/overlays:
//   1. renders it with tools/deploy/kustomize.mjs and, when kubectl is on PATH, with
//      `kubectl kustomize`, and requires the two to hold the same objects;
//   2. validates every object against the API schemas (models.mjs: kubernetes-models and
//      @kubernetes-models/prometheus-operator; unknown kinds and unknown fields fail);
//   3. asserts what the deployment must be (architect review, Issue 3; README.md): the
//      namespace, each workload's role, replicas, strategy and resources, the probes'
//      paths, the preStop sleep and a grace period that covers it and the drain, a
//      non-root read-only container, the configuration file mounted and passed with
//      --config, secrets only from the Secret, the Service selecting the pods and the
//      ServiceMonitor the Service, and the PrometheusRule holding exactly the groups of
//      deploy/prometheus/viya-mv-rules.yml;
//   4. given the viya-mv binary, runs each container's command line with --print-config
//      (its environment, secrets replaced by stand-ins), so the binary itself accepts the
//      flags and the configuration, and the checks use the configuration it reports.
//
//   node tools/deploy/check-k8s.mjs [--root DIR] [--binary PATH] [--no-kubectl]
//
// Exit status 0 when every check passed, 1 when one failed, 2 on a usage error.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { isGenerated, render } from './kustomize.mjs';
import { validate } from './models.mjs';

export const NAMESPACE = 'viya-jobs';
export const SECRET = 'viya-mv-secrets';
export const CONFIG_MAP = 'viya-mv-config';
export const IMAGE = 'viya-mv';
export const UID = 10001;
// After SIGTERM the process drains (http.drain_timeout_ms), then the worker commits the
// batch in hand (stream.batch_max_events: a few seconds at most) and gives up its lease.
export const BATCH_MARGIN_SECONDS = 30;
// The endpoints controller and the proxies need a few seconds to drop a terminating pod.
export const MIN_PRESTOP_SECONDS = 5;
// Before liveness counts: opening the stores (a source.db migration, the MongoDB
// preflight) happens before the HTTP server listens.
export const MIN_STARTUP_SECONDS = 600;
// Stand-ins for the Secret's values when the binary runs a container's command line.
const SECRET_STAND_INS = {
  'source-uri': 'mongodb://viya-mv:stand-in-password@mongo-0.mongo:27017/?replicaSet=rs0',
  'views-uri': 'mongodb://viya-mv:stand-in-password@mongo-1.mongo:27017/?replicaSet=rs1',
  'admin-key': 'stand-in-admin-key',
};
// viya-mv's own defaults of the keys checked here (README.md, "Configuration"), for runs
// without the binary.
const DEFAULTS = {
  data_dir: './data',
  http: { listen: '127.0.0.1:8080', drain_timeout_ms: 10000 },
  source: { backend: 'embedded', uri: '' },
  views: { backend: 'sqlite', uri: '' },
  serve: { role: 'all' },
};
const CONFIG_SECRETS = ['source.uri', 'views.uri'];
const ENV_SECRETS = /^VIYA_MV_.*(_URI|_KEY)$/;

// What each overlay must hold: its workloads (kind/name) and their expectations, and the
// configuration every one of its pods must run with. A new overlay needs an entry here.
export const OVERLAYS = {
  mongodb: {
    config: { 'source.backend': 'mongodb', 'views.backend': 'mongodb' },
    workloads: {
      'Deployment/mv-worker': {
        role: 'worker',
        replicas: 1,
        strategy: 'Recreate',
        resources: {
          requests: { cpu: '500m', memory: '1Gi' },
          limits: { cpu: '2', memory: '4Gi' },
        },
        secretEnv: {
          VIYA_MV_SOURCE_URI: { key: 'source-uri', required: true },
          VIYA_MV_ADMIN_KEY: { key: 'admin-key' },
        },
        data: 'emptyDir',
      },
      'Deployment/mv-api': {
        role: 'api',
        minReplicas: 2,
        strategy: 'RollingUpdate',
        secretEnv: {
          VIYA_MV_SOURCE_URI: { key: 'source-uri', required: true },
          VIYA_MV_ADMIN_KEY: { key: 'admin-key' },
        },
        data: 'emptyDir',
      },
    },
  },
  embedded: {
    config: { 'source.backend': 'embedded', 'views.backend': 'sqlite' },
    workloads: {
      'StatefulSet/viya-mv': {
        role: 'all',
        replicas: 1,
        secretEnv: { VIYA_MV_ADMIN_KEY: { key: 'admin-key' } },
        data: 'volumeClaimTemplate',
      },
    },
  },
};

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);

// ---- small helpers -------------------------------------------------------------------

const id = (o) => `${o.kind}/${o.metadata?.name}`;
const get = (o, path) => path.split('.').reduce((v, k) => v?.[k], o);

// A Kubernetes quantity ("500m", "2", 2, "4Gi") as a number of base units.
export function quantity(q) {
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q));
  if (!m) return NaN;
  const scale = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * (m[2] ? scale[m[2]] : 1);
}

function subset(small, big) {
  return Object.entries(small ?? {}).every(([k, v]) => big?.[k] === v);
}

// The first path where a and b differ, for messages.
function firstDifference(a, b, path = '') {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
  }
  return `${path || '(top)'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

export function projectVersion(root) {
  const m = /project\(\s*viya_mv\s+VERSION\s+([0-9][0-9.]*)/.exec(
    readFileSync(join(root, 'CMakeLists.txt'), 'utf8'),
  );
  return m?.[1];
}

function onPath(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

export function kubectlRender(dir) {
  const out = execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS())
    .filter((o) => o);
}

const key = (o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

// Differences between two renderings of one overlay (as sets of objects). Generated names
// whose hash suffix alone differs are reported apart (`hashOnly`): another kustomize
// version may hash differently without any other effect.
export function compareRenderings(mine, theirs) {
  const strip = (objects) => {
    const names = new Set(
      objects
        .filter((o) => o.kind === 'ConfigMap' && /-[a-z0-9]{10}$/.test(o.metadata.name))
        .map((o) => o.metadata.name),
    );
    let text = JSON.stringify(objects);
    for (const n of names) text = text.replaceAll(`"${n}"`, `"${n.slice(0, -11)}"`);
    return JSON.parse(text);
  };
  const diff = (a, b) => {
    const am = new Map(a.map((o) => [key(o), o]));
    const bm = new Map(b.map((o) => [key(o), o]));
    const out = [];
    for (const k of am.keys()) if (!bm.has(k)) out.push(`only in tools/deploy/kustomize.mjs: ${k}`);
    for (const k of bm.keys()) if (!am.has(k)) out.push(`only in kubectl kustomize: ${k}`);
    for (const [k, o] of am) {
      if (bm.has(k) && !isDeepStrictEqual(o, bm.get(k)))
        out.push(`${k} differs at ${firstDifference(o, bm.get(k))}`);
    }
    return out;
  };
  const strict = diff(mine, theirs);
  if (strict.length === 0) return { differences: [], hashOnly: false };
  const loose = diff(strip(mine), strip(theirs));
  return loose.length === 0
    ? { differences: [], hashOnly: true }
    : { differences: strict, hashOnly: false };
}

// The effective configuration a container runs with: the binary's --print-config for its
// command line and environment when the binary is given, else the file over the defaults.
function effectiveConfig({ binary, args, env, configText, fail }) {
  if (!binary) {
    const file = parseToml(configText);
    const merged = structuredClone(DEFAULTS);
    for (const [k, v] of Object.entries(file)) {
      merged[k] =
        v && typeof v === 'object' && !Array.isArray(v) ? { ...(merged[k] ?? {}), ...v } : v;
    }
    const role = args[args.indexOf('--role') + 1];
    if (args.includes('--role')) merged.serve.role = role;
    return merged;
  }
  const dir = mkdtempSync(join(tmpdir(), 'viya-mv-k8s-'));
  try {
    const path = join(dir, 'viya-mv.toml');
    writeFileSync(path, configText);
    const argv = [...args];
    argv[argv.indexOf('--config') + 1] = path;
    const r = spawnSync(binary, [...argv, '--print-config'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
      timeout: 30000,
    });
    if (r.error) {
      fail(`cannot run ${binary}: ${r.error.message}`);
      return undefined;
    }
    if (r.status !== 0) {
      fail(
        `viya-mv ${argv.join(' ')} --print-config: exit ${r.status}: ${(r.stderr || r.stdout || '').trim()}`,
      );
      return undefined;
    }
    return parseToml(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the checks ----------------------------------------------------------------------

// Checks one rendered overlay. Returns the failure messages.
export function checkObjects(objects, { overlay, root, binary, expect = OVERLAYS[overlay] }) {
  const failures = [];
  const fail = (msg) => failures.push(msg);
  const check = (ok, msg) => {
    if (!ok) fail(msg);
    return ok;
  };
  if (!expect) {
    fail(`overlay ${overlay}: no expectations in tools/deploy/check-k8s.mjs OVERLAYS (add them)`);
    return failures;
  }

  // Every object valid, namespaced into viya-jobs; the shared namespace itself not owned.
  for (const o of objects) {
    for (const e of validate(o)) fail(`${id(o)}: ${e}`);
    if (o.kind === 'Namespace') {
      fail(
        `${id(o)}: the overlay must not own a Namespace (${NAMESPACE} holds other workloads; ` +
          '`kubectl delete -k` would delete it)',
      );
    } else {
      check(
        o.metadata.namespace === NAMESPACE,
        `${id(o)}: namespace ${o.metadata.namespace}, not ${NAMESPACE}`,
      );
    }
  }

  // The configuration: one generated ConfigMap with the TOML file.
  const configMaps = objects.filter(
    (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith(`${CONFIG_MAP}-`),
  );
  if (
    !check(
      configMaps.length === 1,
      `expected one ConfigMap ${CONFIG_MAP}-<hash>, found ${configMaps.length}`,
    )
  ) {
    return failures;
  }
  const configMap = configMaps[0];
  let fileConfig = {};
  for (const [k, text] of Object.entries(configMap.data ?? {})) {
    try {
      fileConfig = parseToml(text);
    } catch (e) {
      fail(`${id(configMap)}: ${k} is not TOML: ${e.message}`);
    }
  }
  for (const path of CONFIG_SECRETS) {
    check(
      !get(fileConfig, path),
      `${id(configMap)}: ${path} is set in the ConfigMap; secrets come from ${SECRET}`,
    );
  }

  // The Service, and the ServiceMonitor that scrapes it.
  const services = objects.filter((o) => o.kind === 'Service');
  const service = services.find((s) => s.metadata.name === 'viya-mv');
  if (!check(service, 'no Service viya-mv')) return failures;
  const httpPort = (service.spec.ports ?? []).find((p) => p.name === 'http');
  check(httpPort?.port === 8080, `${id(service)}: no port named http on 8080`);
  check(
    service.spec.selector && Object.keys(service.spec.selector).length > 0,
    `${id(service)}: no selector`,
  );
  const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
  check(monitors.length === 1, `expected one ServiceMonitor, found ${monitors.length}`);
  for (const m of monitors) {
    const sel = m.spec.selector ?? {};
    check(
      !sel.matchExpressions,
      `${id(m)}: matchExpressions are not checked here; use matchLabels`,
    );
    check(
      Object.keys(sel.matchLabels ?? {}).length > 0 &&
        subset(sel.matchLabels, service.metadata.labels),
      `${id(m)}: selector ${JSON.stringify(sel.matchLabels)} does not select Service viya-mv ` +
        `(labels ${JSON.stringify(service.metadata.labels)})`,
    );
    const ns = m.spec.namespaceSelector;
    check(
      !ns || ns.any || (ns.matchNames ?? []).includes(NAMESPACE),
      `${id(m)}: namespaceSelector misses ${NAMESPACE}`,
    );
    const eps = m.spec.endpoints ?? [];
    check(eps.length > 0, `${id(m)}: no endpoints`);
    for (const ep of eps) {
      check(ep.port === 'http', `${id(m)}: endpoint port ${ep.port}, not the Service's port http`);
      check(ep.path === '/metrics', `${id(m)}: endpoint path ${ep.path}, not /metrics`);
      // The rules rely on the scrape's own `job` (the Service's name) and on exported_job.
      check(
        ep.honorLabels !== true,
        `${id(m)}: honorLabels would let viya_mv_job_*'s job label replace the target's`,
      );
    }
    check(
      !m.spec.jobLabel,
      `${id(m)}: jobLabel changes the job label the alert rules match (up{job=~".*viya-mv.*"})`,
    );
  }

  // The alert rules: exactly the groups of the rules file.
  const rules = objects.filter((o) => o.kind === 'PrometheusRule');
  check(rules.length === 1, `expected one PrometheusRule, found ${rules.length}`);
  const rulesFile = join(root, 'deploy/prometheus/viya-mv-rules.yml');
  if (check(existsSync(rulesFile), `no rules file ${rulesFile}`)) {
    const groups = parseYaml(readFileSync(rulesFile, 'utf8'))?.groups;
    check(Array.isArray(groups) && groups.length > 0, `${rulesFile}: no groups`);
    for (const r of rules) {
      check(
        isDeepStrictEqual(r.spec?.groups, groups),
        `${id(r)}: spec.groups differ from ${rulesFile} (${firstDifference(r.spec?.groups, groups)}); ` +
          'run deploy/k8s/sync-rules.sh',
      );
      check(
        isDeepStrictEqual(Object.keys(r.spec ?? {}), ['groups']),
        `${id(r)}: spec holds more than groups`,
      );
    }
  }

  // The workloads: exactly the expected ones.
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const expected = Object.keys(expect.workloads);
  check(
    isDeepStrictEqual(workloads.map(id).sort(), [...expected].sort()),
    `workloads ${workloads.map(id).sort().join(', ')}; expected ${[...expected].sort().join(', ')}`,
  );
  const version = projectVersion(root);
  const accounts = new Set(
    objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name),
  );

  for (const w of workloads) {
    const want = expect.workloads[id(w)];
    if (!want) continue;
    const name = id(w);
    const spec = w.spec;
    const pod = spec.template?.spec ?? {};
    const podLabels = spec.template?.metadata?.labels ?? {};

    if (want.replicas !== undefined)
      check(
        spec.replicas === want.replicas,
        `${name}: replicas ${spec.replicas}, not ${want.replicas}`,
      );
    if (want.minReplicas !== undefined) {
      check(
        spec.replicas >= want.minReplicas,
        `${name}: replicas ${spec.replicas}, fewer than ${want.minReplicas}`,
      );
    }
    if (want.strategy) {
      const s = w.kind === 'StatefulSet' ? spec.updateStrategy?.type : spec.strategy?.type;
      check(s === want.strategy, `${name}: strategy ${s}, not ${want.strategy}`);
    }
    // Selectors: own pods only, and the Service's selector reaches them.
    const sel = spec.selector?.matchLabels;
    check(
      sel && subset(sel, podLabels),
      `${name}: selector ${JSON.stringify(sel)} does not match its pod labels`,
    );
    for (const other of workloads.filter((x) => x !== w)) {
      check(
        !subset(sel, other.spec.template?.metadata?.labels),
        `${name}: selector also matches ${id(other)}'s pods`,
      );
    }
    check(
      subset(service.spec.selector, podLabels),
      `${name}: Service viya-mv selector ${JSON.stringify(service.spec.selector)} does not select its pods ` +
        `(${JSON.stringify(podLabels)})`,
    );
    check(
      accounts.has(pod.serviceAccountName),
      `${name}: serviceAccountName ${pod.serviceAccountName} is not rendered`,
    );

    // Pod security.
    const psc = pod.securityContext ?? {};
    check(psc.runAsNonRoot === true, `${name}: securityContext.runAsNonRoot is not true`);

    const containers = pod.containers ?? [];
    check(containers.length === 1, `${name}: ${containers.length} containers, expected one`);
    const c = containers[0];
    if (!c) continue;
    const cname = `${name} container ${c.name}`;
    check(
      c.image === `${IMAGE}:${version}`,
      `${cname}: image ${c.image}, not ${IMAGE}:${version} (CMakeLists.txt's VERSION)`,
    );
    const csc = c.securityContext ?? {};
    const uid = csc.runAsUser ?? psc.runAsUser;
    check(uid === UID, `${cname}: runs as uid ${uid}, not ${UID} (the image's user)`);
    check(csc.readOnlyRootFilesystem === true, `${cname}: readOnlyRootFilesystem is not true`);
    check(
      csc.allowPrivilegeEscalation === false,
      `${cname}: allowPrivilegeEscalation is not false`,
    );
    check((csc.capabilities?.drop ?? []).includes('ALL'), `${cname}: capabilities do not drop ALL`);
    check(!(csc.capabilities?.add ?? []).length, `${cname}: adds capabilities`);

    // Resources.
    for (const kind of ['requests', 'limits']) {
      for (const r of ['cpu', 'memory']) {
        const have = c.resources?.[kind]?.[r];
        check(have !== undefined, `${cname}: no resources.${kind}.${r}`);
        const w0 = want.resources?.[kind]?.[r];
        if (w0 !== undefined) {
          check(
            quantity(have) === quantity(w0),
            `${cname}: resources.${kind}.${r} ${have}, not ${w0}`,
          );
        }
      }
    }

    // Volumes and mounts.
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    const claims = new Set((spec.volumeClaimTemplates ?? []).map((t) => t.metadata?.name));
    const mounts = c.volumeMounts ?? [];
    const mountAt = (path) =>
      mounts
        .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
        .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    for (const m of mounts) {
      check(
        volumes.has(m.name) || claims.has(m.name),
        `${cname}: mount ${m.mountPath} names no volume ${m.name}`,
      );
    }
    const tmp = mountAt('/tmp');
    check(
      tmp?.mountPath === '/tmp' && volumes.get(tmp.name)?.emptyDir !== undefined,
      `${cname}: /tmp is not an emptyDir (the root filesystem is read-only)`,
    );

    // The command line: serve, the role, the configuration file from the ConfigMap.
    const args = [...(c.command ?? []), ...(c.args ?? [])];
    check(!c.command, `${cname}: command overrides the image's entrypoint; give args`);
    check(args[0] === 'serve', `${cname}: args do not start with serve: ${JSON.stringify(args)}`);
    const role = args.includes('--role') ? args[args.indexOf('--role') + 1] : undefined;
    check(role === want.role, `${cname}: --role ${role}, not ${want.role}`);
    const configPath = args.includes('--config') ? args[args.indexOf('--config') + 1] : undefined;
    let configText;
    if (check(configPath, `${cname}: no --config`)) {
      const m = mountAt(configPath);
      const v = m && volumes.get(m.name);
      if (check(v?.configMap, `${cname}: --config ${configPath} is not on a ConfigMap volume`)) {
        check(
          v.configMap.name === configMap.metadata.name,
          `${cname}: config volume names ConfigMap ${v.configMap.name}, not ${configMap.metadata.name}`,
        );
        check(!v.configMap.items, `${cname}: config volume items are not checked here`);
        check(m.readOnly === true, `${cname}: the config mount is not readOnly`);
        configText = configMap.data?.[posix.relative(m.mountPath, configPath)];
        check(
          configText !== undefined,
          `${cname}: --config ${configPath}: no such key in ${configMap.metadata.name}`,
        );
      }
    }

    // Environment: secrets only by reference, from the one Secret.
    const env = {};
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ENV_SECRETS.test(e.name)) {
        check(ref, `${cname}: ${e.name} is not taken from a Secret`);
      }
      if (ref) {
        check(ref.name === SECRET, `${cname}: ${e.name} from Secret ${ref.name}, not ${SECRET}`);
        env[e.name] = SECRET_STAND_INS[ref.key] ?? 'stand-in';
      } else if (e.value !== undefined) {
        env[e.name] = String(e.value);
      }
    }
    check(!(c.envFrom ?? []).length, `${cname}: envFrom is not checked here; name each variable`);
    for (const [n, want0] of Object.entries(want.secretEnv ?? {})) {
      const e = (c.env ?? []).find((x) => x.name === n);
      const ref = e?.valueFrom?.secretKeyRef;
      if (check(ref, `${cname}: no ${n} from Secret ${SECRET}`)) {
        check(ref.key === want0.key, `${cname}: ${n} from key ${ref.key}, not ${want0.key}`);
        if (want0.required) check(ref.optional !== true, `${cname}: ${n} must not be optional`);
      }
    }

    // The configuration this container runs with.
    const config =
      configText !== undefined
        ? effectiveConfig({ binary, args, env, configText, fail: (m) => fail(`${cname}: ${m}`) })
        : undefined;
    if (!config) continue;
    check(
      config.serve?.role === want.role,
      `${cname}: runs as role ${config.serve?.role}, not ${want.role}`,
    );
    for (const [path, value] of Object.entries(expect.config)) {
      check(
        get(config, path) === value,
        `${cname}: ${path} is ${JSON.stringify(get(config, path))}, not ${JSON.stringify(value)}`,
      );
    }
    for (const path of CONFIG_SECRETS) {
      const v = get(config, path) ?? '';
      check(!v.includes('stand-in-password'), `${cname}: viya-mv prints ${path} with its password`);
    }
    const [host, port] = String(config.http?.listen ?? '').split(/:(?=[0-9]+$)/);
    check(
      host === '0.0.0.0',
      `${cname}: http.listen ${config.http?.listen}: the kubelet and the Service cannot reach ${host}`,
    );
    const cport = (c.ports ?? []).find((p) => p.name === 'http');
    check(
      cport && cport.containerPort === Number(port),
      `${cname}: port http ${cport?.containerPort}, but viya-mv listens on ${port}`,
    );
    const dataMount = mountAt(String(config.data_dir));
    if (
      check(
        dataMount && !dataMount.readOnly,
        `${cname}: data_dir ${config.data_dir} is on no writable volume`,
      )
    ) {
      if (want.data === 'volumeClaimTemplate') {
        check(
          claims.has(dataMount.name),
          `${cname}: data_dir ${config.data_dir} is not on a volumeClaimTemplate`,
        );
      } else {
        check(
          volumes.get(dataMount.name)?.emptyDir !== undefined,
          `${cname}: data_dir ${config.data_dir} is not on an emptyDir`,
        );
      }
    }

    // Probes, and the stop: preStop sleep, SIGTERM, drain, last batch, within the grace period.
    const probe = (p, path, what) => {
      if (!check(p?.httpGet, `${cname}: no ${what} httpGet`)) return;
      check(p.httpGet.path === path, `${cname}: ${what} path ${p.httpGet.path}, not ${path}`);
      check(
        p.httpGet.port === 'http' || p.httpGet.port === Number(port),
        `${cname}: ${what} port ${p.httpGet.port} is not http`,
      );
    };
    probe(c.livenessProbe, '/healthz', 'livenessProbe');
    probe(c.readinessProbe, '/readyz', 'readinessProbe');
    probe(c.startupProbe, '/healthz', 'startupProbe');
    if (c.startupProbe) {
      const s = c.startupProbe;
      const budget = (s.failureThreshold ?? 3) * (s.periodSeconds ?? 10);
      check(
        budget >= MIN_STARTUP_SECONDS,
        `${cname}: startupProbe allows ${budget} s, less than ${MIN_STARTUP_SECONDS} s`,
      );
    }
    const stop = c.lifecycle?.preStop;
    let sleep = Number(stop?.sleep?.seconds);
    const cmd = stop?.exec?.command ?? [];
    if (cmd.length === 2 && /^(\/bin\/|\/usr\/bin\/)?sleep$/.test(cmd[0])) sleep = Number(cmd[1]);
    if (
      check(
        Number.isFinite(sleep),
        `${cname}: no preStop sleep (exec ["sleep", N] or sleep.seconds)`,
      )
    ) {
      check(
        sleep >= MIN_PRESTOP_SECONDS,
        `${cname}: preStop sleeps ${sleep} s, less than ${MIN_PRESTOP_SECONDS} s`,
      );
      const drain = Math.ceil(Number(config.http?.drain_timeout_ms) / 1000);
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      check(
        grace >= sleep + drain + BATCH_MARGIN_SECONDS,
        `${cname}: terminationGracePeriodSeconds ${grace} < preStop ${sleep} s + drain ${drain} s + ` +
          `${BATCH_MARGIN_SECONDS} s for the last batch`,
      );
    }
  }
  return failures;
}

// Renders and checks every overlay under ROOT/deploy/k8s/overlays. Returns
// {results: [{overlay, objects, failures}], notes}.
export function checkDeploy({ root, binary, kubectl }) {
  const overlays = join(root, 'deploy/k8s/overlays');
  const notes = [];
  if (kubectl === undefined) {
    kubectl = onPath('kubectl');
    if (!kubectl)
      notes.push('kubectl is not on PATH: rendered with tools/deploy/kustomize.mjs alone');
  } else if (!kubectl) {
    notes.push('--no-kubectl: rendered with tools/deploy/kustomize.mjs alone');
  }
  const results = [];
  for (const overlay of readdirSync(overlays).sort()) {
    const dir = join(overlays, overlay);
    const failures = [];
    let objects = [];
    try {
      objects = render(dir);
    } catch (e) {
      failures.push(`tools/deploy/kustomize.mjs: ${e.message}`);
    }
    if (kubectl) {
      try {
        const cmp = compareRenderings(objects, kubectlRender(dir));
        for (const d of cmp.differences) failures.push(`kubectl kustomize disagrees: ${d}`);
        if (cmp.hashOnly)
          notes.push(
            `${overlay}: kubectl's kustomize names generated ConfigMaps with another hash`,
          );
      } catch (e) {
        failures.push(`kubectl kustomize ${dir}: ${(e.stderr || e.message).toString().trim()}`);
      }
    }
    if (objects.length) failures.push(...checkObjects(objects, { overlay, root, binary }));
    results.push({ overlay, objects, failures });
  }
  if (!results.length) notes.push(`no overlays under ${overlays}`);
  // The PrometheusRule is the rules file, generated: byte for byte what sync-rules.sh writes.
  const sync = spawnSync('bash', [join(root, 'deploy/k8s/sync-rules.sh'), '--check'], {
    encoding: 'utf8',
  });
  const syncFailures =
    sync.status === 0
      ? []
      : [
          'deploy/k8s/base/prometheus-rule.yaml is not what deploy/k8s/sync-rules.sh makes of ' +
            'deploy/prometheus/viya-mv-rules.yml: run it (with --check it shows the difference)',
        ];
  return { results, notes, syncFailures };
}

function main() {
  const here = dirname(fileURLToPath(import.meta.url));
  let opts;
  try {
    opts = parseArgs({
      options: {
        root: { type: 'string', default: resolve(here, '../..') },
        binary: { type: 'string' },
        'no-kubectl': { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    console.error(`check-k8s: ${e.message}`);
    console.error('usage: check-k8s.mjs [--root DIR] [--binary PATH] [--no-kubectl]');
    process.exit(2);
  }
  if (opts.binary && !existsSync(opts.binary)) {
    console.error(`check-k8s: no binary ${opts.binary}`);
    process.exit(2);
  }
  const { results, notes, syncFailures } = checkDeploy({
    root: resolve(opts.root),
    binary: opts.binary && resolve(opts.binary),
    ...(opts['no-kubectl'] ? { kubectl: false } : {}),
  });
  for (const n of notes) console.log(`check-k8s: note: ${n}`);
  if (!opts.binary)
    console.log(
      'check-k8s: note: no --binary: the configuration is read from the files, not from viya-mv',
    );
  let failed = syncFailures.length;
  for (const f of syncFailures) console.log(`FAIL ${f}`);
  for (const r of results) {
    for (const f of r.failures) console.log(`FAIL ${r.overlay}: ${f}`);
    failed += r.failures.length;
    console.log(
      `check-k8s: ${r.overlay}: ${r.objects.length} objects (${r.objects.map(id).join(', ')}): ` +
        `${r.failures.length ? `${r.failures.length} failures` : 'OK'}`,
    );
  }
  if (!results.length) failed += 1;
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
