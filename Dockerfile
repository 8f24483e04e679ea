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
# scripts, which package.json's allowScripts denies anyway: onnxruntime-node's would do nothing
# under .npmrc's onnxruntime-node-install=skip (its CPU binaries ship inside the npm package),
# protobufjs's only checks a version scheme. CMD runs node directly, not `npm start`: npm does
# not reliably pass SIGTERM on, and the gateway must get it to drain.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
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
USER node
EXPOSE 8080 8081
CMD ["node", "dist/cli.js", "serve", "--config", "/app/config/docker.yaml"]
