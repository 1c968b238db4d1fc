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
COPY web ./web
RUN pip install --no-cache-dir . && mkdir -p /data && chown tumen:tumen /data

USER tumen
ENV TUMEN_DATA_DIR=/data \
    TUMEN_HOST=0.0.0.0 \
    TUMEN_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["sh", "-c", "tumen demo && exec tumen serve"]
