# The map's JavaScript, pinned by web/package-lock.json and copied into web/vendor.
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json web/vendor.mjs ./
RUN npm ci --no-audit --no-fund && node vendor.mjs

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 tumen
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tumen ./tumen
COPY tiles ./tiles
COPY overlays ./overlays
COPY analysis ./analysis
COPY publish ./publish
RUN pip install --no-cache-dir . && mkdir -p /data && chown tumen:tumen /data
COPY web/index.html web/map.css ./web/
COPY web/src ./web/src
COPY --from=web /web/vendor ./web/vendor

USER tumen
ENV TUMEN_DATA_DIR=/data \
    TUMEN_WEB_DIR=/app/web \
    TUMEN_HOST=0.0.0.0 \
    TUMEN_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# The demo is drawn (and baked) on first start into the /data volume; then tumen serves.
CMD ["sh", "-c", "tumen demo && exec tumen serve"]
