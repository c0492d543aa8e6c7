"""Translation of MLflow and transport failures into gridai errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from gridai.exceptions import GridAIError, GridAIModelError, GridAIUnreachableError


@contextlib.contextmanager
def mlflow_errors(what: str, uri: str) -> Iterator[None]:
    """Turn MLflow/transport failures into gridai errors naming ``uri``.

    A missing resource -> :class:`GridAIModelError`; a refused/timed-out connection ->
    :class:`GridAIUnreachableError`; anything else propagates.
    """
    import requests
    from mlflow.exceptions import MlflowException

    try:
        yield
    except GridAIError:
        raise
    except requests.RequestException as err:
        raise GridAIUnreachableError(
            f"{what}: tracking server {uri} is unreachable: {err}", uri=uri
        ) from None
    except MlflowException as err:
        text = str(err)
        if "Max retries exceeded" in text or "Connection refused" in text or "timed out" in text:
            raise GridAIUnreachableError(
                f"{what}: tracking server {uri} is unreachable: {text.splitlines()[0][:300]}", uri=uri
            ) from None
        if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            raise GridAIModelError(f"{what}: {text.splitlines()[0][:300]}", uri=uri) from None
        raise
