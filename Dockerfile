# The gateway image: current Node LTS on Debian slim; serves config/gateway.yaml by default.
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY protos ./protos
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
COPY config ./config
COPY models ./models
EXPOSE 8080 8081
CMD ["node", "dist/cli.js", "serve"]
