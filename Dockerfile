# Two stages: the first builds Textline's wheel and installs it with its dependencies into a
# virtual environment; the second is the slim runtime with only that environment, the
# migrations (run by `textline serve` at every start) and a user without privileges.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install /wheels/textline-*.whl

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    TEXTLINE_DATABASE_URL=sqlite:////data/textline.db \
    TEXTLINE_SPOOL_DIR=/data/spool
RUN groupadd --system --gid 10001 textline \
    && useradd --system --uid 10001 --gid textline --home-dir /srv/textline --no-create-home textline \
    && mkdir -p /srv/textline /data \
    && chown textline:textline /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/textline
# app/kit/migrate.py finds them in the working directory of an installed package.
COPY migrations ./migrations

# By number, so that a runtime refusing root (runAsNonRoot) can tell it is not.
USER 10001:10001
VOLUME /data
EXPOSE 8000
# Ready means the database answers and is at the newest migration (GET /readyz); the image has
# no curl, and needs none.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["textline", "serve", "--host", "0.0.0.0", "--port", "8000"]
