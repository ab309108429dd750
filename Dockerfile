# One image for every Casebridge service and worker; the command picks the process:
#   uvicorn casebridge.<svc>.main:create_app --factory --host 0.0.0.0 --port 800N
#   python -m casebridge.<svc>.worker
#   alembic -c services/<svc>/alembic.ini upgrade head
# The default target (`runtime`) holds the services and libs/common only: no test or dev
# tooling. The `demo` target adds the demo seeds (casebridge.devstack, without its embedded
# servers) for docker-compose.yml:
#   python -m casebridge.devstack.seeds.<svc>
FROM python:3.11-slim AS base

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.9" \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin casebridge

WORKDIR /app

# Dependencies first (cached until the lock file or a pyproject changes). Every workspace
# member's pyproject is needed to read the lock; only the runtime ones are installed.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/
COPY libs/testing/pyproject.toml libs/testing/
COPY libs/devstack/pyproject.toml libs/devstack/
COPY services/intake/pyproject.toml services/intake/
COPY services/sharing/pyproject.toml services/sharing/
COPY services/review/pyproject.toml services/review/
COPY services/stats/pyproject.toml services/stats/
RUN uv sync --frozen --no-dev --no-install-workspace

# Then our code (the services' tests come along but are not installed).
COPY libs/common libs/common
COPY services services
RUN mkdir -p /data && chown casebridge /data


FROM base AS demo
COPY libs/devstack libs/devstack
RUN uv sync --frozen --no-dev --group demo
USER casebridge


FROM base AS runtime
RUN uv sync --frozen --no-dev
USER casebridge
EXPOSE 8001 8002 8003 8004
CMD ["python", "-c", "print('give a command: see the comment at the top of the Dockerfile')"]
