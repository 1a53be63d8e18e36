# One image for the web server and the worker. CPU by default; see docker-compose.yml for GPU.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SKINSITE_VAR_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends gettext libpq5 \
    libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN useradd --create-home --uid 1000 skinsite && mkdir -p /data && chown skinsite /data
USER skinsite
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0
EXPOSE 8000
CMD ["gunicorn", "skinsite.asgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
