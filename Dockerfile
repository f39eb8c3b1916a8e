# The viya-mv image: the one binary on Debian 12 with only the libraries it loads, run as
# an unprivileged user. deploy/k8s runs it (`serve --role ... --config ...`).
#
#   docker build -t viya-mv:0.1.0 .
#   docker run --rm -p 8080:8080 viya-mv:0.1.0                    # serve, embedded store in the container
#   docker run --rm viya-mv:0.1.0 --version
#
# VIYA_MV_VERSION is the image's version label. It must be what `viya-mv --version`
# prints: the build fails otherwise, so a release is built with the version its sources
# carry (CMakeLists.txt's project VERSION; tests/deploy/node_checks.sh dockerfile keeps this
# default in step with it).
ARG VIYA_MV_VERSION=0.1.0

FROM debian:12 AS build
WORKDIR /src
# The packages first, on a layer of their own: a change of the sources does not reinstall
# them. --build: compilers and libraries, no test tools.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN ./scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
# Release, without benchmarks, and only the binary's target: the tests are not built.
RUN cmake -S . -B build/image -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIYA_MV_BENCH=OFF \
 && cmake --build build/image --target viya-mv -j "$(nproc)"

FROM debian:12 AS runtime
ARG VIYA_MV_VERSION
# The runtime libraries of the binary and CA certificates (MongoDB over TLS), from the
# same list as any other installation: scripts/install-deps.sh --runtime.
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
# uid/gid 10001: deploy/k8s runs the pods as 10001 (runAsNonRoot needs a numeric USER).
RUN groupadd --system --gid 10001 viya-mv \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/viya-mv --no-create-home \
      --shell /usr/sbin/nologin viya-mv \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/viya-mv
COPY --from=build /src/build/image/viya-mv /usr/local/bin/viya-mv
# The label cannot lie: the binary must report the version the image is labelled with.
RUN test "$(/usr/local/bin/viya-mv --version)" = "viya-mv ${VIYA_MV_VERSION}" \
 || { echo "viya-mv --version says '$(/usr/local/bin/viya-mv --version)'; VIYA_MV_VERSION is '${VIYA_MV_VERSION}'" >&2; exit 1; }
LABEL org.opencontainers.image.title="viya-mv" \
      org.opencontainers.image.description="Materialized views kept fresh from a database change stream, served over HTTP" \
      org.opencontainers.image.version="${VIYA_MV_VERSION}"
USER 10001:10001
WORKDIR /var/lib/viya-mv
EXPOSE 8080
# No HEALTHCHECK: the image has no HTTP client, and Kubernetes ignores it (deploy/k8s probes
# /healthz and /readyz).
ENTRYPOINT ["/usr/local/bin/viya-mv"]
# Without arguments: the whole service on the embedded store in /var/lib/viya-mv, on every
# interface. deploy/k8s gives its own arguments (role, --config), replacing these.
CMD ["serve", "--http", "0.0.0.0:8080", "--data", "/var/lib/viya-mv"]
