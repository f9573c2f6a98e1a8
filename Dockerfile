# One image for every sessionlab service: node, balancer, locust master and workers.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY nodes ./nodes
COPY balancer ./balancer
COPY loadtest ./loadtest
RUN pip install . \
    && useradd --create-home --uid 10001 sessionlab \
    && mkdir -p /app/reports && chown sessionlab /app/reports

USER sessionlab
EXPOSE 8080 8081 8089
CMD ["sessionlab", "--help"]
