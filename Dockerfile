# syntax=docker/dockerfile:1
# AgentTrace collector image.
#   docker build -t agenttrace .
#   docker run -p 4319:4319/udp -p 127.0.0.1:4318:4318 -p 127.0.0.1:4317:4317 -v agenttrace-data:/var/lib/agenttrace \
#              -e AGENTTRACE_API_KEY=change-me agenttrace

# ---- build: wheels with the compiled extensions -------------------------------------
FROM python:3.11-slim-bookworm AS build
# The compiler only lives in this throw-away stage; the base tag pins the distribution.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY agenttrace ./agenttrace
COPY tui ./tui
COPY docker/build-wheels.sh /usr/local/bin/build-wheels
RUN build-wheels /src /wheels

# ---- runtime: slim, non-root, no compiler -------------------------------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 agenttrace \
 && useradd --system --uid 10001 --gid agenttrace --home-dir /var/lib/agenttrace --shell /usr/sbin/nologin agenttrace \
 && mkdir -p /var/lib/agenttrace /run/agenttrace \
 && chown agenttrace:agenttrace /var/lib/agenttrace /run/agenttrace
COPY docker/install-runtime.sh /usr/local/bin/install-runtime
COPY --from=build /wheels /wheels
RUN install-runtime /wheels && rm -rf /wheels
COPY docker/healthcheck.py /usr/local/lib/agenttrace-healthcheck.py

# Datagrams reach a container from its network's private addresses (the host through
# the bridge gateway, other containers); public sources are dropped as not_allowed.
# Widen or narrow it with -e AGENTTRACE_RECEIVE_ALLOW=CIDR,CIDR (docs/collector.md).
ENV AGENTTRACE_DATA_DIR=/var/lib/agenttrace \
    AGENTTRACE_RECEIVE_ALLOW=127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7 \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/agenttrace"]
# 4319/udp: spans from agents (our SDK). 4318/tcp: OTLP/HTTP, /metrics, /healthz, the
# query API. 4317/tcp: OTLP/gRPC.
EXPOSE 4319/udp 4318/tcp 4317/tcp
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "/usr/local/lib/agenttrace-healthcheck.py"]
# The collector is PID 1 in exec form: it receives SIGTERM itself, stops receiving,
# drains its rings, seals and exits 0; it reaps its own worker processes.
STOPSIGNAL SIGTERM
ENTRYPOINT ["agenttrace-collector", "--udp", "0.0.0.0:4319", "--http", "0.0.0.0:4318", "--otlp-grpc", "0.0.0.0:4317", "--unix", "/run/agenttrace/collector.sock"]
