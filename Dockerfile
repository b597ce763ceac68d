# syntax=docker/dockerfile:1
# The gateway as a container image:
#   docker build -t oro-websocket-gateway .
#   docker run -p 8080:8080 -e ORO_SECRET=... -e ORO_WEBSOCKET_PUBLISH_KEYS=... oro-websocket-gateway
# --env=prod refuses to start without ORO_SECRET (Oro's application secret, to check tickets) and
# ORO_WEBSOCKET_PUBLISH_KEYS (keys for POST /publish): pass them as environment variables (or
# Docker/Kubernetes secrets exposed as such), never bake them into the image. The other
# settings (ORO_WEBSOCKET_*_DSN, ORO_DB_URL, ...) are environment variables too; see README.md.
# test/dockerfile.test.ts performs these steps without Docker; keep to FROM, ARG, ENV, WORKDIR,
# COPY, RUN, USER, EXPOSE, HEALTHCHECK, STOPSIGNAL and CMD, which it understands.

ARG NODE_IMAGE=node:24-bookworm-slim

# Build stage: all dependencies, TypeScript compiled to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
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
# Node itself asks GET /healthz (slim images have no curl), on the port and host of
# ORO_WEBSOCKET_SERVER_DSN (0.0.0.0, :: or * mean 127.0.0.1).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const d=process.env.ORO_WEBSOCKET_SERVER_DSN||'//0.0.0.0:8080';const m=/[/][/](?:[^@/]*@)?(\\[[^\\]]*\\]|[^:/?#]*)(?::(\\d+))?/.exec(d.includes('//')?d:'//'+d);const h=['','*','0.0.0.0','[::]'].includes(m[1])?'127.0.0.1':m[1];fetch('http://'+h+':'+(m[2]||'8080')+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# The gateway drains on SIGTERM (readiness 503, sessions closed) and exits 0; give it
# `docker stop --time` above ORO_WEBSOCKET_SHUTDOWN_TIMEOUT (10 s by default).
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and gets the signals itself (no npm or sh in between).
CMD ["node", "dist/src/cli.js", "serve", "--env=prod"]
