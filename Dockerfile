# syntax=docker/dockerfile:1
# The gateway as a container image:
#   docker build -t oro-websocket-gateway .
#   docker run -p 8080:8080 -e ORO_SECRET=... -e ORO_DB_DSN=... oro-websocket-gateway
# --env=prod refuses to start without ORO_SECRET (Oro's application secret, to check tickets).
# ORO_WEBSOCKET_PUBLISH_KEYS is optional: keys for POST /publish, which Oro's backend does not use
# (it publishes over WebSocket); without them POST /publish answers GW_ERR_PUBLISH_DISABLED. Pass
# secrets as environment variables (or Docker/Kubernetes secrets exposed as such), never bake them
# into the image. The other settings (ORO_WEBSOCKET_*_DSN, ORO_DB_DSN or ORO_DB_URL, ...) are
# environment variables too; see README.md.
# Topic routes: the image holds no Oro code, so without --app-root (a read-only mount of the Oro
# application's root) the gateway knows Oro's own routes only: a custom bundle's topics are
# unknown, browsers cannot subscribe to them and Oro's backend publishes to them are refused and
# lost (the first per backend address logged at error). Mount a rules file declaring them and set
# ORO_WEBSOCKET_TOPICS to its path (docs/topics.md), or mount the application and add --app-root.
# test/dockerfile.heavy.test.ts performs these steps without Docker; keep to FROM, ARG, ENV,
# WORKDIR, COPY, RUN, USER, EXPOSE, HEALTHCHECK, STOPSIGNAL and CMD, which it understands.

ARG NODE_IMAGE=node:24-bookworm-slim

# Build stage: all dependencies, TypeScript compiled to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json app.ts server.ts cli.ts ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
RUN npm run build

# Runtime stage: production dependencies and dist/ only, run as the image's unprivileged user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ORO_WEBSOCKET_SERVER_DSN=//0.0.0.0:8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# The gateway's own `wait-ready` asks GET /healthz (slim images have no curl) where the
# configuration says it listens (ORO_WEBSOCKET_SERVER_DSN; 0.0.0.0, :: or * mean 127.0.0.1): over
# https:// when the SERVER DSN has TLS of its own (context_options[local_cert]), counting the
# answer only with that certificate. Exit 0 once it answers 200, 1 after --timeout.
# A SERVER DSN that checks client certificates (context_options[verify_peer]=true) refuses this
# check (it has no client certificate): the container would stay "unhealthy". There, serve
# /healthz on a plain address of its own, ORO_WEBSOCKET_METRICS_LISTEN=127.0.0.1:9464, and ask
# that instead (docker run --health-cmd, or HEALTHCHECK in an image FROM this one):
#   node -e "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# or run without a health check (docker run --no-healthcheck).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/cli.js", "wait-ready", "--timeout=4"]
# The gateway drains on SIGTERM (readiness 503, sessions closed) and exits 0; give it
# `docker stop --time` above ORO_WEBSOCKET_SHUTDOWN_TIMEOUT (10 s by default).
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and gets the signals itself (no npm or sh in between).
CMD ["node", "dist/cli.js", "serve", "--env=prod"]
