# syntax=docker/dockerfile:1
# App image: the Streamlit web app. It only talks HTTP to the worker (WORKER_URL), so it needs
# only streamlit and requests (requirements/app.txt: the `app` extra of pyproject.toml, locked
# with hashes by `make lock`), none of the model stack.
# Build:  docker build -f Dockerfile.app -t app:dev .
# PYTHON_IMAGE: the official Python image, pinned by digest. Where Docker Hub cannot be reached,
# a Debian bookworm image with Python 3.11 stands in (scripts/make_base_image.sh makes one from
# Debian's packages; scripts/check_containers.py builds with --build-arg PYTHON_IMAGE=...).
# checkov:skip=CKV_DOCKER_7:FROM uses ARG PYTHON_IMAGE, whose default is the official image pinned by digest (tests/deployment/test_deployment.py asserts it)
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# ---- build stage: a complete virtual environment in /opt/venv -------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv

# WHEELS: optional folder of wheels mounted at build time (scripts/check_containers.py mounts
# one, filled by the host's pip); when set, pip installs from it alone, without any index.
ARG WHEELS=""
COPY requirements/app.txt /tmp/app.txt
RUN if [ -n "$WHEELS" ]; then export PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHEELS"; fi \
    && pip install --no-cache-dir --require-hashes -r /tmp/app.txt

# ---- runtime stage ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="movie-recommender-app" \
      org.opencontainers.image.description="Streamlit web app of the movie recommender"

RUN groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid app --home-dir /home/app --create-home \
       --shell /usr/sbin/nologin app

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HOME=/home/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WORKER_URL=http://127.0.0.1:8000 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

# The whole virtual environment, so the `streamlit` console script still works.
COPY --from=build /opt/venv /opt/venv

WORKDIR /srv/recommender
COPY --chown=root:root app/ app/
# The recommendation document the app reads answers into (standard library only).
COPY --chown=root:root recommender/__init__.py recommender/document.py recommender/
# The API's field rules (plain Python), shared with the worker; not its pydantic models.
COPY --chown=root:root api/__init__.py api/rules.py api/

USER 10001:10001

EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"]

CMD ["streamlit", "run", "app/Home.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", "--browser.gatherUsageStats=false"]
