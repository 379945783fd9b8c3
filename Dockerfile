# Built the same way as `make install`: a virtual environment with the package in it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TEXTLINE_DATABASE_URL=sqlite:////data/textline.db \
    TEXTLINE_SPOOL_DIR=/data/spool
WORKDIR /srv/textline

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir . \
    && useradd --system --home /srv/textline textline && mkdir /data && chown textline /data
ENV PATH=/opt/venv/bin:$PATH

USER textline
VOLUME /data
EXPOSE 8000
CMD ["textline", "serve", "--host", "0.0.0.0", "--port", "8000"]
