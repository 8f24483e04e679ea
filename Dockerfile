# syntax=docker/dockerfile:1
# The infergate gateway image: Node.js LTS on Debian slim, production dependencies only, run as
# the image's unprivileged `node` user. docker-compose.yml builds it; it serves
# config/docker.yaml, whose backend hosts are that file's service names (another config:
# `docker run ... infergate node dist/cli.js serve --config /app/config/gateway.yaml`).
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so source edits reuse this layer. --ignore-scripts skips the root
# `prepare` (= build, which needs the sources copied below) and the dependencies' install
# scripts; of those package.json's allowScripts denies two: onnxruntime-node's would do nothing
# under .npmrc's onnxruntime-node-install=skip (its CPU binaries ship inside the npm package),
# protobufjs's only checks a version scheme. CMD runs node directly, not `npm start`: npm does
# not reliably pass SIGTERM on, and the gateway must get it to drain.
# The two native modules the job store needs are then built on their own: better-sqlite3 (the
# embedded job store; prebuild-install fetches its binary, else node-gyp compiles it, hence the
# build tools) and msgpackr-extract (BullMQ's optional fast codec, prebuilt in an npm package).
COPY package.json package-lock.json .npmrc ./
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3 msgpackr-extract
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
COPY protos ./protos
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the app user: the gateway only reads these.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/protos ./protos
COPY config ./config
COPY models ./models
# The one writable place: config/docker.yaml's jobs.dir and jobs.dataDir (batch files), a volume
# so queued jobs, results and batch files survive a new container.
RUN mkdir -p /app/data/jobs /app/data/files && chown -R node:node /app/data
VOLUME /app/data
USER node
# 8082 is the admin listener (config/docker.yaml binds it for compose to publish on loopback).
EXPOSE 8080 8081 8082
CMD ["node", "dist/cli.js", "serve", "--config", "/app/config/docker.yaml"]
