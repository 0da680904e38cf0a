FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_SECRET_KEY=collectstatic DATABASE_URL=sqlite:////tmp/x.db python manage.py collectstatic --noinput
RUN useradd --create-home cxgov && mkdir -p /app/var && chown -R cxgov /app/var
USER cxgov
EXPOSE 8000
CMD ["gunicorn", "--config", "cxgov/gunicorn.conf.py", "cxgov.wsgi:application", "--access-logfile", "-"]
