# syntax=docker/dockerfile:1
# The observatory demo (apps/demo-server serving the built apps/demo-web) as a small
# production image. Build from the repository root:
#   docker build --target production -t lifeline/demo-server .
# or `docker compose up --build` (docker-compose.yml).

# Node 22 is the current LTS (20 reached end of life in April 2026; the packages still run on 20.19+).
ARG NODE_IMAGE=node:22-bookworm-slim

# Toolchain: pnpm at the version package.json pins.
FROM ${NODE_IMAGE} AS base
ENV PNPM_HOME=/pnpm \
    PATH=/pnpm:$PATH \
    CI=true
RUN corepack enable && corepack prepare pnpm@10.34.8 --activate
WORKDIR /repo

# Build the server, the page and the packages they use; then a pruned production tree.
# The whole workspace is copied before installing: a frozen install needs every
# workspace manifest, and listing them here would break silently when one is added.
FROM base AS build
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile
RUN pnpm exec turbo run build --filter=@lifeline/demo-server... --filter=@lifeline/demo-web
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm --filter @lifeline/demo-server deploy --prod --legacy /out/demo-server \
 && mkdir -p /out/demo-web \
 && cp -r apps/demo-web/dist /out/demo-web/dist

# Runtime: no pnpm, no sources, no dev dependencies; files owned by root, run as `node`.
# The page sits at ../demo-web/dist relative to the server package, as in the repository.
FROM ${NODE_IMAGE} AS production
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8765 \
    DEMO_WEB_DIR=/app/demo-web/dist
WORKDIR /app/demo-server
COPY --from=build /out/demo-server /app/demo-server
COPY --from=build /out/demo-web/dist /app/demo-web/dist
USER node
EXPOSE 8765
# Same check as docker-compose.yml: a WebSocket handshake up to the server's hello.
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
# main.js handles SIGTERM: clients are told (shutdown, then close 1012) before it exits.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
