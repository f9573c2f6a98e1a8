# The `front` service of docker-compose.yml: nginx, HAProxy, Caddy and Apache httpd (Debian's packages) with the
# lab's config templates; BALANCER picks which one fronts the nodes (python -m loadtest.lab.balancers serve).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx haproxy caddy apache2 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY nodes ./nodes
COPY balancer ./balancer
COPY loadtest ./loadtest
RUN pip install .
EXPOSE 8080
CMD ["python", "-m", "loadtest.lab.balancers", "serve"]
