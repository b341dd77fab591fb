# One image for every process: the command picks the role (control-plane, runner, worker).
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# bubblewrap boxes scripts (PAR_SCRIPT_SANDBOX); where the container forbids user namespaces,
# PAR_SCRIPT_SANDBOX=auto falls back to none with a warning.
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY machines ./machines
COPY workers ./workers
COPY tsconfig.json ./
USER node
ENTRYPOINT ["node", "/app/bin/par.js"]
CMD ["runner", "--with-api-key"]
