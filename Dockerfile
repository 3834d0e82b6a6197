# PaperDesk server image. The embedded database is not in it: a deployment points
# MONGO_URI at MongoDB (see compose.yaml).

# The trading page's JavaScript packages, from the lockfile.
FROM node:20-bookworm-slim AS page
WORKDIR /page
COPY client_examples/browser/package.json client_examples/browser/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY run.py ./
COPY server ./server
COPY handlers ./handlers
COPY trading ./trading
COPY feeds ./feeds
COPY store ./store
COPY notifier ./notifier
COPY client_examples/browser ./client_examples/browser
COPY --from=page /page/node_modules ./client_examples/browser/node_modules
RUN useradd --system --uid 10001 --home-dir /app paperdesk
USER paperdesk
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
CMD ["python", "run.py"]
