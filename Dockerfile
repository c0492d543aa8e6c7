# gridai: day-ahead forecasting, dispatch and the scheduled job, in one image.
#
#   docker build -t gridai .                                   # CPU torch (default)
#   docker build -t gridai:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
#   docker run --rm -v "$PWD/outputs:/app/outputs" gridai run day-ahead --date 2008-06-30 \
#       -c configs/dayahead.yaml --out outputs/
#
# The entrypoint is the `gridai` command; the bundled GEFCom2012 data and configs are in /app.
# MLflow defaults to sqlite:///mlflow.db in the working directory (/app): mount a volume there,
# or pass -e MLFLOW_TRACKING_URI=http://tracking-server:5000, to keep the registry between runs.
FROM python:3.11-slim

# CPU wheels by default; a CUDA wheel index (e.g. .../whl/cu128) for GPU training images.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg

RUN useradd --create-home --uid 10001 gridai
WORKDIR /app

# torch first, from the chosen index: a bare torch requirement would pull a multi-GB CUDA build
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"

# dependencies before the source so that code edits do not reinstall them
COPY pyproject.toml README.md ./
COPY gridai/__init__.py gridai/__init__.py
RUN pip install . && pip uninstall -y gridai

COPY gridai gridai
COPY configs configs
COPY data data
RUN pip install --no-deps . && chown -R gridai:gridai /app

USER gridai
ENTRYPOINT ["gridai"]
CMD ["--help"]
