# gridai: day-ahead forecasting, dispatch and the scheduled job, in one image.
#
#   docker build -t gridai .                                   # CPU torch (default)
#   docker build -t gridai:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
#
#   docker volume create gridai-state                          # the MLflow store: the champion lives here
#   mkdir -p outputs && chmod a+rwx outputs                    # or: --user "$(id -u):$(id -g)"
#   docker run --rm -v gridai-state:/var/lib/gridai -v "$PWD/outputs:/app/outputs" gridai \
#       run day-ahead --date 2008-06-30 -c configs/dayahead.yaml --out outputs/
#
# The entrypoint is the `gridai` command; the bundled GEFCom2012 data and configs are in /app.
# State lives in two volumes, both writable by the image's non-root user (uid 10001):
#   /var/lib/gridai  the MLflow store (sqlite:////var/lib/gridai/mlflow.db, artifacts beside it):
#                    the first run trains the demo champion there, later runs reuse it;
#   /app/outputs     the published runs (OUT/D/).
# -e MLFLOW_TRACKING_URI=http://tracking-server:5000 uses a tracking server instead.
FROM python:3.11-slim

# CPU wheels by default; a CUDA wheel index (e.g. .../whl/cu128) for GPU training images.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    MLFLOW_TRACKING_URI=sqlite:////var/lib/gridai/mlflow.db

RUN useradd --create-home --uid 10001 gridai
WORKDIR /app

# torch first, pinned to the chosen index (CPU by default): the project's torch range is then
# satisfied, so no later install can pull a multi-GB CUDA build from PyPI.
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}" \
    && python -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('${TORCH_VERSION}') else 1)"

# dependencies before the source so that code edits do not reinstall them
COPY pyproject.toml README.md ./
COPY gridai/__init__.py gridai/__init__.py
RUN pip install . && pip uninstall -y gridai \
    && python -c "import torch; print('torch', torch.__version__)"

COPY gridai gridai
COPY configs configs
COPY data data
COPY docs docs
RUN pip install --no-deps . \
    && mkdir -p /var/lib/gridai /app/outputs \
    && chown -R gridai:gridai /app /var/lib/gridai

# Declared after the chown: a new named volume starts as a copy of these (owned by gridai).
VOLUME ["/var/lib/gridai", "/app/outputs"]

USER gridai
ENTRYPOINT ["gridai"]
CMD ["--help"]
