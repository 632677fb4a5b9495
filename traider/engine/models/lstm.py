"""Recurrent model: `LSTMModel` (torch), P(up) from the last `seq_len` feature vectors.

Network: features standardised with the training mean/sd → 1-layer LSTM (hidden 16) → the
last step's hidden state → linear → sigmoid. The input for row i is rows i-seq_len+1 … i
of the (time-ordered) data; the first rows, which lack history, repeat the earliest row
(edge padding), so every row gets a prediction.

Training: the dataset's first `1 - val_frac` rows train, the last `val_frac` rows validate
(time-ordered, no shuffling across the cut); Adam on binary cross-entropy, mini-batches
shuffled within the training part, at most `epochs` epochs, stopping after `patience`
epochs without a lower validation loss and keeping the best weights. Deterministic: the
weights and the batch order come from `seed` inside `torch.random.fork_rng` (the caller's
global RNG is left alone) and, on CPU, `torch.use_deterministic_algorithms(True)` is on
during the fit (restored after). Uses CUDA when available (`device=` overrides) for
training; inference runs on the CPU copy with `torch.set_num_threads(1)` (set when the
model becomes ready to predict, `single_thread_inference=False` leaves it) under
`torch.inference_mode()`. The artifact's model is the CPU `state_dict` (`torch.save`);
loading uses `weights_only=True`.

`predict(features)` with one vector (k,) is streaming: the vector is appended to the
model's own history of the last `seq_len` vectors (call it once per bar, in order;
`reset()` clears it). With a (seq_len, k) array it predicts on that window and leaves the
history alone. `predict_batch(X)` treats X as consecutive rows and does not touch the
history. torch is imported lazily.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from traider.engine.models.base import (
    ArtifactMixin,
    Dataset,
    F32Array,
    F64Array,
    ModelArtifact,
    Prediction,
    check_matrix,
)

__all__ = ["LSTMModel"]

_CTOR_KEYS: tuple[str, ...] = (
    "seq_len",
    "hidden",
    "epochs",
    "patience",
    "batch_size",
    "lr",
    "weight_decay",
)
_CTOR_KEYS += ("val_frac", "seed")


def _build_net(n_features: int, hidden: int) -> Any:
    import torch
    from torch import nn

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(n_features, hidden, num_layers=1, batch_first=True)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (b, t, k) -> logits (b,)
            out, _ = self.lstm(x)
            logits: torch.Tensor = self.head(out[:, -1, :]).squeeze(-1)
            return logits

    with torch.random.fork_rng(devices=[]):  # the random init never moves the caller's RNG
        return _Net()


def _windows(x: F32Array, seq_len: int) -> F32Array:
    """(n, k) -> read-only view (n, seq_len, k); row i = rows i-seq_len+1..i, edge-padded."""
    padded = np.concatenate([np.repeat(x[:1], seq_len - 1, axis=0), x], axis=0)
    view = np.lib.stride_tricks.sliding_window_view(padded, seq_len, axis=0)  # (n, k, t)
    out: F32Array = view.transpose(0, 2, 1)
    return out


class LSTMModel(ArtifactMixin):
    kind: ClassVar[str] = "lstm"

    def __init__(
        self,
        horizon: str = "1h",
        *,
        name: str | None = None,
        seq_len: int = 16,
        hidden: int = 16,
        epochs: int = 30,
        patience: int = 4,
        batch_size: int = 128,
        lr: float = 5e-3,
        weight_decay: float = 1e-4,
        val_frac: float = 0.2,
        seed: int = 7,
        device: str | None = None,
        single_thread_inference: bool = True,
    ) -> None:
        if seq_len < 1 or hidden < 1 or epochs < 1 or not 0.0 < val_frac < 1.0:
            raise ValueError("seq_len, hidden, epochs >= 1 and val_frac in (0, 1)")
        self._horizon = horizon
        self._name = name or self.kind
        self._params: dict[str, Any] = {
            "seq_len": seq_len,
            "hidden": hidden,
            "epochs": epochs,
            "patience": patience,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "val_frac": val_frac,
            "seed": seed,
        }
        self._device = device
        self._single_thread = single_thread_inference
        self._net: Any = None
        self._artifact: ModelArtifact | None = None
        self._feature_names: tuple[str, ...] = ()
        self._k = 0
        self._mean = np.zeros(0, dtype=np.float32)
        self._inv_sd = np.ones(0, dtype=np.float32)
        self._hist = np.zeros((0, 0), dtype=np.float32)
        self._filled = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def horizon(self) -> str:
        return self._horizon

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._feature_names

    @property
    def seq_len(self) -> int:
        return int(self._params["seq_len"])

    # --- fit ------------------------------------------------------------------------------
    def fit(
        self, dataset: Dataset, *, on_epoch: Callable[[int, int, float], None] | None = None
    ) -> ModelArtifact:
        """`on_epoch(epoch, max_epochs, validation_loss)` after each epoch (epochs count
        from 1; early stopping may end before `max_epochs`): a long fit can show progress."""
        import torch

        p = self._params
        n, k = dataset.X.shape
        n_val = int(n * p["val_frac"])
        n_tr = n - n_val
        if n_tr < 2 or n_val < 1:
            raise ValueError(f"{self._name}: too few rows to fit ({n})")
        X = dataset.X
        if not np.isfinite(X).all():
            raise ValueError(f"{self._name}: non-finite values in X")
        mean = X[:n_tr].mean(axis=0, dtype=np.float64).astype(np.float32)
        sd = X[:n_tr].std(axis=0, dtype=np.float64)
        inv_sd = np.where(sd > 1e-12, 1.0 / np.maximum(sd, 1e-12), 1.0).astype(np.float32)
        seqs = _windows((X - mean) * inv_sd, int(p["seq_len"]))
        y = dataset.y.astype(np.float32)
        device = torch.device(self._device or ("cuda" if torch.cuda.is_available() else "cpu"))
        was_det = torch.are_deterministic_algorithms_enabled()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(p["seed"]))
            if device.type == "cpu":
                torch.use_deterministic_algorithms(True)
            try:
                state = self._train(seqs, y, n_tr, k, device, on_epoch)
            finally:
                torch.use_deterministic_algorithms(was_det)
        buf = io.BytesIO()
        torch.save(state, buf)
        params = {**p, "mean": mean.tolist(), "inv_sd": inv_sd.tolist()}
        art = ModelArtifact(
            kind=self.kind,
            params=params,
            feature_names=dataset.feature_names,
            data_hash=dataset.hash(),
            model=buf.getvalue(),
            horizon=self._horizon,
            n_train=n,
        )
        self._install(art)
        return art

    def _train(
        self,
        seqs: F32Array,
        y: npt.NDArray[np.float32],
        n_tr: int,
        k: int,
        device: Any,
        on_epoch: Callable[[int, int, float], None] | None = None,
    ) -> dict[str, Any]:
        import torch

        p = self._params
        net = _build_net(k, int(p["hidden"])).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        loss_fn = torch.nn.BCEWithLogitsLoss()
        gen = torch.Generator().manual_seed(int(p["seed"]))
        x_val = torch.from_numpy(np.ascontiguousarray(seqs[n_tr:])).to(device)
        y_val = torch.from_numpy(y[n_tr:]).to(device)
        bs = int(p["batch_size"])
        best = float("inf")
        best_state = {kk: v.detach().cpu().clone() for kk, v in net.state_dict().items()}
        stale = 0
        epochs = int(p["epochs"])
        for epoch in range(1, epochs + 1):
            net.train()
            order = torch.randperm(n_tr, generator=gen).numpy()
            for start in range(0, n_tr, bs):
                idx = np.sort(order[start : start + bs])
                xb = torch.from_numpy(np.ascontiguousarray(seqs[idx])).to(device)
                yb = torch.from_numpy(y[idx]).to(device)
                opt.zero_grad()
                loss = loss_fn(net(xb), yb)
                loss.backward()
                opt.step()
            net.eval()
            with torch.inference_mode():
                val = float(loss_fn(net(x_val), y_val))
            if on_epoch is not None:
                on_epoch(epoch, epochs, val)
            if val < best - 1e-5:
                best, stale = val, 0
                best_state = {kk: v.detach().cpu().clone() for kk, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= int(p["patience"]):
                    break
        self._params["best_val_loss"] = best
        return best_state

    # --- predict ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the streaming history of `predict`."""
        self._filled = 0

    def predict(self, features: npt.NDArray[Any]) -> Prediction:
        import torch

        net = self._require()
        x = np.asarray(features, dtype=np.float32)
        t = self.seq_len
        if x.shape == (self._k,):
            if not np.isfinite(x).all():
                raise ValueError("feature vector has a NaN or infinite value")
            hist = self._hist
            hist[:-1] = hist[1:]
            hist[-1] = (x - self._mean) * self._inv_sd
            self._filled = min(self._filled + 1, t)
            if self._filled < t:  # edge-pad with the earliest vector seen
                hist[: t - self._filled] = hist[t - self._filled]
            window = hist
        elif x.shape == (t, self._k):
            if not np.isfinite(x).all():
                raise ValueError("feature window has a NaN or infinite value")
            window = (x - self._mean) * self._inv_sd
        else:
            raise ValueError(f"expected shape ({self._k},) or ({t}, {self._k}), got {x.shape}")
        with torch.inference_mode():
            logit = float(net(torch.from_numpy(window[None])))
        return Prediction.from_prob(_sigmoid(logit), self._horizon)

    def predict_batch(self, X: npt.NDArray[Any], batch_size: int = 4096) -> F64Array:
        import torch

        net = self._require()
        x = check_matrix(X, self._k)
        out = np.empty(x.shape[0], dtype=np.float64)
        if x.shape[0] == 0:
            return out
        seqs = _windows((x - self._mean) * self._inv_sd, self.seq_len)
        with torch.inference_mode():
            for s in range(0, x.shape[0], batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(seqs[s : s + batch_size]))
                out[s : s + batch_size] = torch.sigmoid(net(xb)).double().numpy()
        return out

    # --- artifacts ---------------------------------------------------------------------------
    @classmethod
    def from_artifact(cls, artifact: ModelArtifact, *, name: str | None = None) -> Self:
        cls.check_kind(artifact)
        kw = {kk: artifact.params[kk] for kk in _CTOR_KEYS}
        model = cls(artifact.horizon, name=name, **kw)
        model._install(artifact)
        return model

    def _install(self, art: ModelArtifact) -> None:
        import torch

        p = art.params
        k = len(art.feature_names)
        state = torch.load(io.BytesIO(art.model), map_location="cpu", weights_only=True)
        net = _build_net(k, int(p["hidden"]))
        net.load_state_dict(state)
        net.eval()
        if self._single_thread:
            torch.set_num_threads(1)
        self._net = net
        self._artifact = art
        self._feature_names = art.feature_names
        self._k = k
        self._mean = np.asarray(p["mean"], dtype=np.float32)
        self._inv_sd = np.asarray(p["inv_sd"], dtype=np.float32)
        self._hist = np.zeros((int(p["seq_len"]), k), dtype=np.float32)
        self._filled = 0

    def _require(self) -> Any:
        if self._net is None:
            raise RuntimeError(f"{self._name} is not fitted")
        return self._net


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + float(np.exp(-z)))
    e = float(np.exp(z))
    return e / (1.0 + e)
