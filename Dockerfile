# The regional service. Build: docker build -t breakwater-regional .
# Run: docker run -p 8788:8788 -e DATABASE_URL=... breakwater-regional
# Pinned by exact version; pin the digest too (node:20.20.2-bookworm-slim@sha256:...) where images are promoted.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Build: every dependency, so TypeScript, esbuild and the postgres.js patch (postinstall) are there.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies before sources: a change of code alone reuses this layer.
COPY package.json package-lock.json ./
COPY scripts/patch-postgres.ts scripts/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build -- regional

# Run: production dependencies only, plain JavaScript, no tsx.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8788 \
    DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: postinstall runs the patch with tsx, a dev dependency. The bundle carries the
# patched postgres.js already; the patched package is copied over too, so node_modules matches it.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/node_modules/postgres ./node_modules/postgres
COPY --from=build /app/dist/regional ./dist/regional
# The audit journal (spilled events while Postgres is down) and the dev tenant's files live here.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8788
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/regional/main.js"]
