# The one image every compose service runs: `bucketsync worker`, `bucketsync beat`, Flower.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 bucketsync \
 && mkdir -p /var/lib/bucketsync /etc/bucketsync \
 && chown bucketsync:bucketsync /var/lib/bucketsync

# Only what the package needs (see .dockerignore): never .env, tests or benchmarks.
WORKDIR /src
COPY . .
RUN pip install '.[ops]' && rm -rf /src

USER bucketsync
WORKDIR /var/lib/bucketsync
CMD ["bucketsync", "--help"]
