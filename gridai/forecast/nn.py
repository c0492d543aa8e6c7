"""The PyTorch quantile network and its training loop.

:class:`QuantileMLP` maps one sample (a series on a target day) to every interval x quantile
of that day. Quantiles cannot cross by construction: the network outputs the median and
positive (softplus) increments that are accumulated outwards from it. Training minimises the
mean pinball loss (Koenker & Bassett 1978) with AdamW and early stopping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

logger = logging.getLogger(__name__)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; ``"cuda"`` without a GPU is an error."""
    from gridai.exceptions import GridAIConfigError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise GridAIConfigError("device 'cuda' requested but no CUDA GPU is available", keys=["device"])
    return torch.device(device)


class QuantileMLP(nn.Module):
    """MLP with a series embedding and a non-crossing quantile head.

    Output ``(batch, steps, quantiles)``: ``q_m = median``, ``q_{j>m} = q_{j-1} + softplus(u_j)``,
    ``q_{j<m} = q_{j+1} - softplus(u_j)``. A linear skip path from the inputs to the median
    lets the MLP learn corrections to a linear (autoregressive + weather) forecast.
    """

    def __init__(
        self,
        n_inputs: int,
        n_series: int,
        n_steps: int,
        n_quantiles: int,
        median_index: int,
        *,
        hidden_sizes: Sequence[int],
        embedding_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.n_steps, self.n_quantiles, self.median_index = n_steps, n_quantiles, median_index
        self.embedding = nn.Embedding(n_series, embedding_dim)
        layers: list[nn.Module] = []
        width = n_inputs + embedding_dim
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.GELU(), nn.Dropout(dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_steps * n_quantiles)
        self.skip = nn.Linear(n_inputs, n_steps)

    def forward(self, x: torch.Tensor, series: torch.Tensor) -> torch.Tensor:
        z = torch.cat([x, self.embedding(series)], dim=1)
        raw = self.head(self.body(z)).view(-1, self.n_steps, self.n_quantiles).float()
        m = self.median_index
        med = raw[..., m] + self.skip(x).float()
        up = nn.functional.softplus(raw[..., m + 1 :]).cumsum(-1)
        down = nn.functional.softplus(raw[..., :m].flip(-1)).cumsum(-1).flip(-1)
        return torch.cat([med[..., None] - down, med[..., None], med[..., None] + up], dim=-1)


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss; ``pred`` ``(b, steps, q)``, ``target`` ``(b, steps)``."""
    diff = target[..., None] - pred
    return torch.maximum(quantiles * diff, (quantiles - 1.0) * diff).mean()


@dataclass
class TrainData:
    """Float32 tensors of samples: inputs ``x`` ``(n, f)``, series ids ``(n,)``, targets ``y`` ``(n, steps)``."""

    x: torch.Tensor
    series: torch.Tensor
    y: torch.Tensor

    @classmethod
    def from_numpy(cls, x: np.ndarray, series: np.ndarray, y: np.ndarray) -> TrainData:
        return cls(
            torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(series, dtype=np.int64)),
            torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)),
        )

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class FitResult:
    """Best weights (CPU tensors), the epoch they come from, and per-epoch losses."""

    state: dict[str, torch.Tensor]
    best_epoch: int
    history: list[dict[str, float]]
    seconds: float


def _evaluate(
    model: QuantileMLP, data: TrainData, q: torch.Tensor, device: torch.device, batch: int
) -> float:
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad(), _autocast(device):
        for i in range(0, len(data), batch):
            xb, sb, yb = (t[i : i + batch].to(device) for t in (data.x, data.series, data.y))
            total += float(pinball_loss(model(xb, sb), yb, q)) * len(xb)
            n += len(xb)
    return total / max(n, 1)


def _autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast on CUDA (mixed precision); a disabled context on CPU (exact float32)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def train_network(
    model: QuantileMLP,
    train: TrainData,
    val: TrainData | None,
    quantiles: Sequence[float],
    *,
    epochs: int,
    patience: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    seed: int,
    device: torch.device,
    progress: bool = True,
    label: str = "training",
) -> FitResult:
    """Train ``model`` with AdamW on the pinball loss; early stopping on ``val`` when given.

    Without ``val`` it trains exactly ``epochs`` epochs and returns the last weights.
    Deterministic on CPU for a given ``seed`` (seeded init is the caller's; batches here).
    """
    t_start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    model.to(device)
    q = torch.tensor(list(quantiles), dtype=torch.float32, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(epochs, 1), eta_min=learning_rate * 0.05
    )
    best, best_epoch, bad = float("inf"), 0, 0
    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    history: list[dict[str, float]] = []
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, transient=True, disable=not progress) as bar:
        task = bar.add_task(label, total=epochs, info="")
        for epoch in range(1, epochs + 1):
            model.train()
            perm = torch.randperm(len(train), generator=gen)
            total = 0.0
            for i in range(0, len(train), batch_size):
                idx = perm[i : i + batch_size]
                xb, sb, yb = train.x[idx].to(device), train.series[idx].to(device), train.y[idx].to(device)
                with _autocast(device):
                    loss = pinball_loss(model(xb, sb), yb, q)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            sched.step()
            record = {"epoch": float(epoch), "train_loss": total / len(train)}
            if val is not None and len(val) > 0:
                record["val_loss"] = _evaluate(model, val, q, device, 4 * batch_size)
                if record["val_loss"] < best - 1e-6:
                    best, best_epoch, bad = record["val_loss"], epoch, 0
                    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                else:
                    bad += 1
            else:
                best_epoch = epoch
            history.append(record)
            info = " ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch")
            bar.update(task, advance=1, info=info)
            logger.debug("%s epoch %d %s", label, epoch, info)
            if val is not None and len(val) > 0 and bad >= patience:
                break
    if val is None or len(val) == 0:
        best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    model.to("cpu")
    return FitResult(best_state, best_epoch, history, time.perf_counter() - t_start)


def predict_network(
    model: QuantileMLP, x: np.ndarray, series: np.ndarray, device: torch.device
) -> np.ndarray:
    """Forecasts ``(n, steps, quantiles)`` of ``model`` in eval mode (float64 numpy)."""
    model.to(device).eval()
    xs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ss = torch.from_numpy(np.ascontiguousarray(series, dtype=np.int64))
    outs = []
    with torch.no_grad(), _autocast(device):
        for i in range(0, len(xs), 8192):
            outs.append(model(xs[i : i + 8192].to(device), ss[i : i + 8192].to(device)).float().cpu().numpy())
    model.to("cpu")
    return (
        np.concatenate(outs).astype(np.float64) if outs else np.zeros((0, model.n_steps, model.n_quantiles))
    )
