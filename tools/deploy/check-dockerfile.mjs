#!/usr/bin/env node
// Checks the Dockerfile at the repository's root without building it (no Docker daemon
// here):
//   1. dockerfilelint finds no issue;
//   2. its shape: debian:12 in every stage; the build stage runs install-deps.sh --build
//      and builds the viya-mv target in Release without benchmarks (every -DVIYA_MV_*
//      option named is an option of CMakeLists.txt); the runtime stage installs
//      install-deps.sh --runtime, runs as uid 10001 (deploy/k8s's runAsUser), exposes 8080,
//      has the binary as its exec-form ENTRYPOINT, and checks the binary's --version
//      against VIYA_MV_VERSION, whose default is CMakeLists.txt's project VERSION, and which
//      labels the image (org.opencontainers.image.version);
//   3. .dockerignore keeps build trees and history out of the context;
//   4. given the viya-mv binary: the Dockerfile's version check, run on it, passes with the
//      default and fails with another version; and install-deps.sh --runtime lists the
//      package of every library the binary loads (readelf NEEDED, ldd, dpkg -S).
//
//   node tools/deploy/check-dockerfile.mjs [--root DIR] [--binary PATH]
//
// Exit status 0 when every check passed, 1 when one failed, 2 on a usage error.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UID, projectVersion } from './check-k8s.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = /^debian:12(@sha256:[0-9a-f]{64})?$/;

// The Dockerfile as instructions: {line, op, args} with continuations joined and
// comments dropped.
export function instructions(text) {
  const out = [];
  let current;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (current === undefined && (/^\s*#/.test(line) || !line.trim())) return;
    if (current !== undefined && /^\s*#/.test(line)) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (current === undefined) current = { line: i + 1, text: body.trim() };
    else current.text += ` ${body.trim()}`;
    if (!continued) {
      const m = /^(\S+)\s*(.*)$/.exec(current.text);
      out.push({ line: current.line, op: m[1].toUpperCase(), args: m[2] });
      current = undefined;
    }
  });
  return out;
}

export function stagesOf(list) {
  const global = [];
  const stages = [];
  for (const ins of list) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      stages.push({ image: m?.[1], name: m?.[2], line: ins.line, body: [] });
    } else if (stages.length) {
      stages.at(-1).body.push(ins);
    } else {
      global.push(ins);
    }
  }
  return { global, stages };
}

function lint(dockerfile) {
  const bin = join(here, 'node_modules/.bin/dockerfilelint');
  const r = spawnSync(bin, ['-j', dockerfile], { encoding: 'utf8' });
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    return [`dockerfilelint: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`];
  }
  return report.files.flatMap((f) =>
    f.issues.map((i) => `dockerfilelint: line ${i.line}: ${i.title} (${i.content})`),
  );
}

// The Debian package of every library the binary loads directly: lib -> package (or
// undefined). One dpkg -S for all of them (each call reads dpkg's whole database); kept
// per binary, as the self-tests ask for the same binary many times.
const packagesByBinary = new Map();
function neededPackages(binary) {
  if (packagesByBinary.has(binary)) return packagesByBinary.get(binary);
  const needed = [
    ...execFileSync('readelf', ['-d', binary], { encoding: 'utf8' }).matchAll(
      /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g,
    ),
  ].map((m) => m[1]);
  const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const paths = new Map();
  for (const lib of needed) {
    const path = new RegExp(`^\\s*${lib.replace(/[.+]/g, '\\$&')} => (\\S+)`, 'm').exec(ldd)?.[1];
    paths.set(lib, path ? [...new Set([path, realpathSync(path)])] : []);
  }
  // "libfmt9:amd64: /usr/lib/x86_64-linux-gnu/libfmt.so.9", one line per path found.
  const owner = new Map();
  const all = [...paths.values()].flat();
  if (all.length) {
    const r = spawnSync('dpkg', ['-S', ...all], { encoding: 'utf8' });
    for (const line of r.stdout.split('\n')) {
      const at = line.lastIndexOf(': ');
      if (at > 0)
        owner.set(line.slice(at + 2), line.slice(0, at).split(',')[0].split(':')[0].trim());
    }
  }
  const out = new Map(
    [...paths].map(([lib, ps]) => [lib, ps.map((p) => owner.get(p)).find(Boolean)]),
  );
  packagesByBinary.set(binary, out);
  return out;
}

export function checkDockerfile({ root, binary }) {
  const failures = [];
  const notes = [];
  const check = (ok, msg) => {
    if (!ok) failures.push(msg);
    return ok;
  };
  const dockerfile = join(root, 'Dockerfile');
  if (!check(existsSync(dockerfile), `no ${dockerfile}`)) return { failures, notes };
  failures.push(...lint(dockerfile));

  const list = instructions(readFileSync(dockerfile, 'utf8'));
  const { global, stages } = stagesOf(list);
  const version = projectVersion(root);
  const arg = global.find((i) => i.op === 'ARG' && i.args.startsWith('VIYA_MV_VERSION'));
  const argDefault = /^VIYA_MV_VERSION=(\S+)$/.exec(arg?.args ?? '')?.[1];
  check(
    argDefault === version,
    `ARG VIYA_MV_VERSION before the first FROM defaults to ${argDefault}, not ${version} (CMakeLists.txt)`,
  );

  check(stages.length === 2, `${stages.length} stages, expected two (build, runtime)`);
  for (const s of stages)
    check(BASE.test(s.image ?? ''), `line ${s.line}: FROM ${s.image}, not debian:12`);
  const build = stages.find((s) => s.name === 'build');
  const runtime = stages.at(-1);
  const runs = (s) => (s?.body ?? []).filter((i) => i.op === 'RUN').map((i) => i.args);

  if (check(build, 'no stage named build')) {
    check(
      runs(build).some((r) => /install-deps\.sh --build\b/.test(r)),
      'build stage: no RUN of install-deps.sh --build',
    );
    const cmake = runs(build).join(' ');
    check(
      /-DCMAKE_BUILD_TYPE=Release\b/.test(cmake),
      'build stage: cmake not configured with -DCMAKE_BUILD_TYPE=Release',
    );
    check(
      /-DVIYA_MV_BENCH=OFF\b/.test(cmake),
      'build stage: cmake not configured with -DVIYA_MV_BENCH=OFF',
    );
    check(/--target viya-mv\b/.test(cmake), 'build stage: does not build only the viya-mv target');
    const options = new Set(
      [
        ...readFileSync(join(root, 'CMakeLists.txt'), 'utf8').matchAll(/option\(\s*(VIYA_MV_\w+)/g),
      ].map((m) => m[1]),
    );
    for (const m of cmake.matchAll(/-D(VIYA_MV_\w+)=/g)) {
      check(options.has(m[1]), `build stage: -D${m[1]} is not an option of CMakeLists.txt`);
    }
  }

  check(runtime !== build, 'the last stage must be the runtime image, not build');
  const rt = runtime?.body ?? [];
  check(
    rt.some((i) => i.op === 'ARG' && i.args === 'VIYA_MV_VERSION'),
    'runtime stage: no ARG VIYA_MV_VERSION',
  );
  // install-deps.sh where a command starts (not as an argument, e.g. of rm), with its flags.
  const installs = runs(runtime).flatMap((r) =>
    [...r.matchAll(/(?:^|&&|\|\||;|\()\s*\S*install-deps\.sh((?:\s+-\S+)*)/g)].map((m) =>
      m[1].trim(),
    ),
  );
  check(installs.length > 0, 'runtime stage: no RUN of install-deps.sh --runtime');
  for (const flags of installs) {
    check(
      flags === '--runtime',
      `runtime stage: install-deps.sh ${flags} (only --runtime belongs in the image)`,
    );
  }
  // test "$(<binary> --version)" = "viya-mv ${VIYA_MV_VERSION}" (run on the binary below).
  const versionCheck = runs(runtime).find((r) =>
    /\btest\s+"\$\(\S*viya-mv --version\)"\s+=\s+"viya-mv \$\{?VIYA_MV_VERSION\}?"/.test(r),
  );
  check(
    versionCheck,
    "runtime stage: no RUN comparing the binary's --version with VIYA_MV_VERSION",
  );
  const labels = rt
    .filter((i) => i.op === 'LABEL')
    .map((i) => i.args)
    .join(' ');
  check(
    /org\.opencontainers\.image\.version="?\$\{?VIYA_MV_VERSION\}?"?/.test(labels),
    'runtime stage: no LABEL org.opencontainers.image.version="${VIYA_MV_VERSION}"',
  );
  const user = rt.filter((i) => i.op === 'USER').at(-1)?.args;
  check(
    user && user.split(':')[0] === String(UID),
    `runtime stage: USER ${user}, not ${UID} (numeric, as runAsNonRoot needs)`,
  );
  check(
    rt.some((i) => i.op === 'EXPOSE' && i.args.split(/\s+/).includes('8080')),
    'runtime stage: no EXPOSE 8080',
  );
  const entry = rt.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args;
  let entryArgv;
  try {
    entryArgv = JSON.parse(entry ?? '');
  } catch {
    entryArgv = undefined;
  }
  check(
    Array.isArray(entryArgv) && entryArgv.length === 1 && /\/viya-mv$/.test(entryArgv[0]),
    `runtime stage: ENTRYPOINT ${entry} is not the binary in exec form`,
  );
  const copied = rt
    .filter((i) => i.op === 'COPY' && /--from=build\b/.test(i.args))
    .map((i) => i.args.split(/\s+/).at(-1));
  check(
    entryArgv && copied.includes(entryArgv[0]),
    `runtime stage: the ENTRYPOINT ${entryArgv?.[0]} is not copied from the build stage`,
  );

  const ignore = join(root, '.dockerignore');
  if (check(existsSync(ignore), 'no .dockerignore')) {
    const entries = readFileSync(ignore, 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const e of ['.git', 'build'])
      check(entries.includes(e), `.dockerignore does not leave out ${e}`);
  }

  if (!binary) {
    notes.push(
      'no --binary: the version check and the runtime packages are not checked against viya-mv',
    );
    return { failures, notes };
  }
  // The Dockerfile's own version check, on this binary: it passes with the default, and
  // fails with another version.
  if (versionCheck && entryArgv) {
    const script = versionCheck.replaceAll(entryArgv[0], binary);
    const run = (v) =>
      spawnSync('sh', ['-c', script], {
        env: { PATH: process.env.PATH, VIYA_MV_VERSION: v },
        encoding: 'utf8',
      });
    check(
      run(argDefault).status === 0,
      `the version check fails on ${binary} with VIYA_MV_VERSION=${argDefault}`,
    );
    check(
      run('0.0.0-not-this').status !== 0,
      'the version check passes with a version the binary does not print',
    );
  }
  const printed = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  check(
    printed === `viya-mv ${version}`,
    `${binary} --version prints '${printed}', not 'viya-mv ${version}' (CMakeLists.txt)`,
  );

  const tools = ['readelf', 'ldd', 'dpkg'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0,
  );
  if (tools.length) {
    notes.push(
      `${tools.join(', ')} missing: the runtime packages are not checked against the binary`,
    );
    return { failures, notes };
  }
  const listed = new Set(
    execFileSync('bash', [join(root, 'scripts/install-deps.sh'), '--list-runtime'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean),
  );
  for (const [lib, pkg] of neededPackages(binary)) {
    if (!check(pkg, `${binary} loads ${lib}, which no Debian package provides here`)) continue;
    check(
      listed.has(pkg),
      `${binary} loads ${lib} from ${pkg}, which install-deps.sh --runtime does not list`,
    );
  }
  return { failures, notes };
}

function main() {
  let opts;
  try {
    opts = parseArgs({
      options: {
        root: { type: 'string', default: resolve(here, '../..') },
        binary: { type: 'string' },
      },
    }).values;
  } catch (e) {
    console.error(`check-dockerfile: ${e.message}`);
    console.error('usage: check-dockerfile.mjs [--root DIR] [--binary PATH]');
    process.exit(2);
  }
  if (opts.binary && !existsSync(opts.binary)) {
    console.error(`check-dockerfile: no binary ${opts.binary}`);
    process.exit(2);
  }
  const { failures, notes } = checkDockerfile({
    root: resolve(opts.root),
    binary: opts.binary && resolve(opts.binary),
  });
  for (const n of notes) console.log(`check-dockerfile: note: ${n}`);
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`check-dockerfile: ${failures.length ? `${failures.length} failures` : 'OK'}`);
  process.exit(failures.length ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
