# Berth as a container image: `buildah bud -t berth .` or `docker build -t berth .`
# See "Containers" in docs/deployment.md for running it.

# BASE may name a mirror of the official Node.js image, or a locally built equivalent.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
WORKDIR /app
# Dependencies before sources, so that a change to src/ reuses the installed layer.
COPY package.json package-lock.json ./
# --ignore-scripts: the prepare script compiles src/, which is not here yet. better-sqlite3, the
# one dependency with an install script, is then built on its own: it downloads its prebuilt
# binary for this platform from GitHub (or compiles it, which needs python3, make and g++).
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/lazy-builtins.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${BASE}
WORKDIR /app
# The application stays owned by root: the server can read its code but not change it.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# One start of the server, as root and on a scratch data directory, leaves the code cache of a
# start beside the bundle (see bin/berth.js), a few seconds after it listens since it answers no
# request; the server, which may not write there, reads it.
# The cache is kept per node options: these are the ENTRYPOINT's.
RUN node --max-semi-space-size=2 --initial-old-space-size=32 --no-concurrent-array-buffer-sweeping --expose-gc --interrupt-budget=540672 \
      bin/berth.js serve --host 127.0.0.1 --port 0 --data-dir /tmp/first-start > /dev/null & \
    for i in $(seq 600); do ls dist/bundle/*.v8-cache > /dev/null 2>&1 && break; sleep 0.1; done; \
    kill $! && wait $!; rm -rf /tmp/first-start; ls dist/bundle/*.v8-cache
# The data directory belongs to the user Berth runs as, private as Berth keeps it (0700); a new
# named volume mounted on /data starts with this owner and mode.
RUN mkdir /data && chown 10001:10001 /data && chmod 0700 /data
VOLUME /data
# A numeric user needs no passwd entry, and lets Kubernetes' runAsNonRoot check that it is not root.
USER 10001:10001
# Listening on every address is what makes the port reachable from outside the container.
ENV BERTH_DATA_DIR=/data BERTH_HOST=0.0.0.0 BERTH_PORT=5000
EXPOSE 5000
# Liveness over plain HTTP with the Node.js in the image (no curl in it); a server given
# --port or a TLS certificate needs its own check. Only Docker-format images keep HEALTHCHECK.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.BERTH_PORT}/healthz`).then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]
# The V8 flags of bin/berth.js's first line (see the comments there); `env -S` is not needed then.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--initial-old-space-size=32", "--no-concurrent-array-buffer-sweeping", "--expose-gc", "--interrupt-budget=540672", "bin/berth.js"]
CMD ["serve"]
