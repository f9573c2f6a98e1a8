# One Dockerfile, two images (and a build stage). The default (last stage, `app`): every sessionlab service — node,
# balancer, locust master and workers. `front` (docker-compose.yml's front profile): nginx, HAProxy, Caddy and Apache
# httpd from Debian's packages with the lab's config templates; BALANCER picks which one fronts the nodes.
FROM python:3.12-slim AS lab

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SESSIONLAB_CACHE=/opt/sessionlab-cache

WORKDIR /app
COPY pyproject.toml README.md ./
COPY nodes ./nodes
COPY balancer ./balancer
COPY loadtest ./loadtest
RUN pip install .

# The balancer's data path compiled with mypyc (balancer/compile_data_path.py): a C compiler in this stage only;
# the app image takes the build, which `python -m balancer` finds by the digest of the source installed above.
FROM lab AS data-path
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/* \
    && sessionlab build-balancer

FROM lab AS front
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx haproxy caddy apache2 \
    && rm -rf /var/lib/apt/lists/*
EXPOSE 8080
CMD ["python", "-m", "loadtest.lab.balancers", "serve"]

FROM lab AS app
COPY --from=data-path /opt/sessionlab-cache /opt/sessionlab-cache
RUN useradd --create-home --uid 10001 sessionlab \
    && mkdir -p /app/reports && chown sessionlab /app/reports
USER sessionlab
EXPOSE 8080 8081 8089
CMD ["sessionlab", "--help"]
