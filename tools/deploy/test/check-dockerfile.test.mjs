// The Dockerfile checks can fail: each case breaks a copy of the Dockerfile (or of the
// runtime package list) and requires check-dockerfile to say so.
//
// VIYA_MV_BINARY (tests/deploy/node_checks.sh dockerfile sets it) adds the cases that need viya-mv.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { checkDockerfile, instructions } from '../check-dockerfile.mjs';
import { projectVersion } from '../check-k8s.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const binary =
  process.env.VIYA_MV_BINARY && existsSync(process.env.VIYA_MV_BINARY)
    ? resolve(process.env.VIYA_MV_BINARY)
    : undefined;
const version = projectVersion(repo);
const escaped = version.replaceAll('.', '\\.');
const COPIED = ['Dockerfile', '.dockerignore', 'CMakeLists.txt', 'scripts/install-deps.sh'];

let pristine;
before(() => {
  pristine = mkdtempSync(join(tmpdir(), 'viya-mv-docker-pristine-'));
  for (const p of COPIED) cpSync(join(repo, p), join(pristine, p), { recursive: true });
});
after(() => rmSync(pristine, { recursive: true, force: true }));

// Failures of check-dockerfile on a copy with `edits` ({path: [[from, to], ...]}, each
// `from` found exactly once).
function failuresOf(edits) {
  const root = mkdtempSync(join(tmpdir(), 'viya-mv-docker-'));
  try {
    cpSync(pristine, root, { recursive: true });
    for (const [path, list] of Object.entries(edits)) {
      let text = readFileSync(join(root, path), 'utf8');
      for (const [from, to] of list) {
        assert.equal(
          text.split(from).length - 1,
          1,
          `${path}: '${from}' should occur exactly once`,
        );
        text = text.replace(from, to);
      }
      writeFileSync(join(root, path), text);
    }
    return checkDockerfile({ root, binary }).failures;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function assertCaught(edits, pattern) {
  const failures = failuresOf(edits);
  assert.ok(
    failures.some((f) => pattern.test(f)),
    `expected a failure matching ${pattern}, got:\n${failures.join('\n') || '(none)'}`,
  );
}

test('instructions join continuation lines and drop comments', () => {
  const list = instructions('# c\nFROM debian:12 AS b\nRUN a \\\n  # inner\n && b\n\nUSER 1\n');
  assert.deepEqual(
    list.map((i) => [i.op, i.args]),
    [
      ['FROM', 'debian:12 AS b'],
      ['RUN', 'a && b'],
      ['USER', '1'],
    ],
  );
});

test('the Dockerfile as it is passes', () => {
  assert.deepEqual(failuresOf({}), []);
});

const cases = [
  [
    'another base image',
    { Dockerfile: [['FROM debian:12 AS runtime', 'FROM ubuntu:24.04 AS runtime']] },
    /FROM ubuntu:24\.04, not debian:12/,
  ],
  [
    'a version default out of step',
    { Dockerfile: [[`ARG VIYA_MV_VERSION=${version}`, 'ARG VIYA_MV_VERSION=0.0.9']] },
    new RegExp(`defaults to 0\\.0\\.9, not ${escaped}`),
  ],
  [
    'no version check',
    {
      Dockerfile: [
        [
          'RUN test "$(/usr/local/bin/viya-mv --version)"',
          'RUN echo "$(/usr/local/bin/viya-mv --help)"',
        ],
      ],
    },
    /no RUN comparing the binary's --version/,
  ],
  [
    'a label that does not follow the ARG',
    {
      Dockerfile: [
        [
          'org.opencontainers.image.version="${VIYA_MV_VERSION}"',
          'org.opencontainers.image.version="0.1.0"',
        ],
      ],
    },
    /no LABEL org\.opencontainers\.image\.version/,
  ],
  ['root', { Dockerfile: [['USER 10001:10001', 'USER root']] }, /USER root, not 10001/],
  [
    'the build packages in the image',
    { Dockerfile: [['/tmp/install-deps.sh --runtime &&', '/tmp/install-deps.sh &&']] },
    /install-deps\.sh  ?\(only --runtime|no RUN of install-deps\.sh --runtime|install-deps\.sh \(only/,
  ],
  [
    'benchmarks built',
    { Dockerfile: [['-DVIYA_MV_BENCH=OFF', '-DVIYA_MV_BENCH=ON']] },
    /-DVIYA_MV_BENCH=OFF/,
  ],
  [
    'an option CMake does not have',
    { Dockerfile: [['-DVIYA_MV_BENCH=OFF', '-DVIYA_MV_BENCH=OFF -DVIYA_MV_TESTS=OFF']] },
    /-DVIYA_MV_TESTS is not an option of CMakeLists\.txt/,
  ],
  [
    'a shell-form entrypoint',
    {
      Dockerfile: [['ENTRYPOINT ["/usr/local/bin/viya-mv"]', 'ENTRYPOINT /usr/local/bin/viya-mv']],
    },
    /ENTRYPOINT .* is not the binary in exec form/,
  ],
  [
    'what dockerfilelint finds',
    { Dockerfile: [['EXPOSE 8080', 'EXPOSE 8080\nRUN apt-get install curl']] },
    /dockerfilelint: line \d+: Missing parameter for `apt-get`/,
  ],
  [
    'the build tree in the context',
    { '.dockerignore': [['\nbuild\n', '\n']] },
    /\.dockerignore does not leave out build/,
  ],
];
for (const [name, edits, pattern] of cases) {
  test(`caught: ${name}`, () => assertCaught(edits, pattern));
}

test(
  'caught with viya-mv: a library the runtime list misses',
  { skip: !binary && 'VIYA_MV_BINARY not set' },
  () => {
    assertCaught(
      { 'scripts/install-deps.sh': [[' libfmt9\n', '\n']] },
      /loads libfmt\.so\.9 from libfmt9, which install-deps\.sh --runtime does not list/,
    );
  },
);

test(
  'caught with viya-mv: an image version the binary does not print',
  { skip: !binary && 'VIYA_MV_BINARY not set' },
  () => {
    // Sources and Dockerfile agree on 99.0.0, but the binary at hand prints another: the
    // Dockerfile's own check, run on it, refuses.
    assertCaught(
      {
        Dockerfile: [[`ARG VIYA_MV_VERSION=${version}`, 'ARG VIYA_MV_VERSION=99.0.0']],
        'CMakeLists.txt': [[`VERSION ${version}`, 'VERSION 99.0.0']],
      },
      /the version check fails on .* with VIYA_MV_VERSION=99\.0\.0/,
    );
  },
);
