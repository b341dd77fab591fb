# One image for every process: the command picks the role (control-plane, runner, worker).
#   docker build -t private-action-runner .
#   docker run private-action-runner control-plane | runner --with-api-key | worker
# Two stages: `build` compiles the TypeScript (npm run build -> dist/); the runtime stage holds
# dist/, bin/ and the production dependencies only (no tsx, no TypeScript, no sources, no tests).

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY machines ./machines
COPY workers ./workers
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DD_PRIVATE_RUNNER_CONFIG_DIR=/etc/dd-action-runner/config \
    PAR_AUDIT_DIR=/var/lib/par/audit \
    PAR_WORKER_LIVENESS_FILE=/tmp/par-worker.alive
# tini is PID 1: it forwards SIGTERM to node and reaps the process groups a worker's scripts leave.
# bubblewrap boxes scripts (PAR_SCRIPT_SANDBOX); where the container forbids user namespaces,
# PAR_SCRIPT_SANDBOX=auto falls back to none with a warning.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY LICENSE README.md ./
# The writable places, owned by the user the processes run as: bootstrap keys (/run/par), the
# runner's identity (config dir), the audit trail. Everything else (/app) stays root-owned.
RUN mkdir -p /run/par /etc/dd-action-runner/config /var/lib/par/audit \
 && chown -R node:node /run/par /etc/dd-action-runner /var/lib/par \
 && chmod 0700 /etc/dd-action-runner/config /var/lib/par/audit
USER node
# `par healthcheck` finds the role on the main command line (or PAR_ROLE): control plane
# /healthz, runner /readyz, worker its liveness file (PAR_WORKER_LIVENESS_FILE).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/bin/par.js", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/par.js"]
CMD ["runner", "--with-api-key"]
