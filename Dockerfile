# One Dockerfile, two images. The default (last stage, `app`): every sessionlab service — node, balancer, locust
# master and workers. `front` (docker-compose.yml's front profile): nginx, HAProxy, Caddy and Apache httpd from
# Debian's packages with the lab's config templates; BALANCER picks which one fronts the nodes.
FROM python:3.12-slim AS lab

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY nodes ./nodes
COPY balancer ./balancer
COPY loadtest ./loadtest
RUN pip install .

FROM lab AS front
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx haproxy caddy apache2 \
    && rm -rf /var/lib/apt/lists/*
EXPOSE 8080
CMD ["python", "-m", "loadtest.lab.balancers", "serve"]

FROM lab AS app
RUN useradd --create-home --uid 10001 sessionlab \
    && mkdir -p /app/reports && chown sessionlab /app/reports
USER sessionlab
EXPOSE 8080 8081 8089
CMD ["sessionlab", "--help"]
