# Clinic Bot: `docker build -t clinic-bot .` from the project's own files.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 clinicbot
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY scheduler ./scheduler
COPY storage ./storage
RUN pip install --no-compile .

USER clinicbot
WORKDIR /home/clinicbot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import os, urllib.request; os.environ.get('SLACK_APP_TOKEN') or urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
CMD ["clinic-bot", "run"]
