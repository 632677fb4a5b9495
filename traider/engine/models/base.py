"""Common types of the predictive models: `Dataset`, `Prediction`, `ModelArtifact`, `Model`.

A model is fitted on a `Dataset` (rows in time order: X float32 (n, k), labels y in {0, 1},
the feature names and each row's timestamp), returns a `ModelArtifact` (what was fitted on
what: kind, parameters, feature names, the serialized model and the sha256 of X and y) and
then predicts P(up) for one feature vector (`predict`, the low-latency path) or many rows
(`predict_batch`). `save(path)` writes the artifact as one JSON file (the serialized model
base64-encoded inside it); `load(path)` rebuilds the model from it without refitting.

Models raise on bad input or when used unfitted and never catch anything themselves: the
ensemble contains a failing member. Heavy libraries (xgboost, torch) are imported lazily
inside the model classes, so importing this package stays cheap.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "ARTIFACT_FORMAT",
    "Dataset",
    "Model",
    "ModelArtifact",
    "Prediction",
    "check_matrix",
    "check_vector",
    "data_hash",
    "file_sha256",
    "read_artifact",
    "write_artifact",
]

ARTIFACT_FORMAT = 1

F32Array = npt.NDArray[np.float32]
F64Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Prediction:
    """P(close `horizon` ahead > close now) and confidence = |2·prob_up − 1| in [0, 1]."""

    prob_up: float
    confidence: float
    horizon: str

    @classmethod
    def from_prob(cls, prob_up: float, horizon: str) -> Prediction:
        p = float(prob_up)
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise ValueError(f"prob_up must be in [0, 1], got {p}")
        return cls(p, abs(2.0 * p - 1.0), horizon)


@dataclass(frozen=True, slots=True)
class Dataset:
    """Rows in time order. X is coerced to C-contiguous float32 (n, k), y to int8 0/1,
    ts_ns to int64 (n,) (the bar's timestamp as given, see `features.bars.make_dataset`)."""

    X: F32Array
    y: npt.NDArray[np.int8]
    feature_names: tuple[str, ...]
    ts_ns: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        X = np.ascontiguousarray(self.X, dtype=np.float32)
        y = np.ascontiguousarray(self.y)
        ts = np.ascontiguousarray(self.ts_ns, dtype=np.int64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {X.shape}")
        n, k = X.shape
        if y.shape != (n,) or ts.shape != (n,):
            raise ValueError(f"y {y.shape} and ts_ns {ts.shape} must have shape ({n},)")
        if len(self.feature_names) != k:
            raise ValueError(f"{len(self.feature_names)} feature names for {k} columns")
        if n and not np.isin(y, (0, 1)).all():
            raise ValueError("y must be 0/1")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y.astype(np.int8))
        object.__setattr__(self, "ts_ns", ts)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def slice(self, start: int | None, stop: int | None) -> Dataset:
        s = slice(start, stop)
        return Dataset(self.X[s], self.y[s], self.feature_names, self.ts_ns[s])

    def split(self, train_frac: float) -> tuple[Dataset, Dataset]:
        """Time-ordered split: the first `train_frac` of the rows, then the rest."""
        if not 0.0 < train_frac < 1.0:
            raise ValueError("train_frac must be in (0, 1)")
        cut = int(len(self) * train_frac)
        return self.slice(None, cut), self.slice(cut, None)

    def hash(self) -> str:
        return data_hash(self.X, self.y)


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes: how the registry pins an artifact."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def data_hash(X: npt.NDArray[Any], y: npt.NDArray[Any]) -> str:
    """sha256 over the shape, float32 bytes of X and int8 bytes of y."""
    h = hashlib.sha256()
    Xc = np.ascontiguousarray(X, dtype=np.float32)
    h.update(repr(Xc.shape).encode())
    h.update(Xc.tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int8).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class ModelArtifact:
    """What was fitted: `model` is the serialized model (xgboost JSON, torch state_dict
    bytes, or JSON parameters for the rule models); `path` is set once saved."""

    kind: str
    params: dict[str, Any]
    feature_names: tuple[str, ...]
    data_hash: str
    model: bytes = field(repr=False)
    horizon: str = "1h"
    n_train: int = 0
    path: str | None = None

    def to_json(self) -> str:
        doc = {
            "format": ARTIFACT_FORMAT,
            "kind": self.kind,
            "horizon": self.horizon,
            "params": self.params,
            "feature_names": list(self.feature_names),
            "data_hash": self.data_hash,
            "n_train": self.n_train,
            "model_b64": base64.b64encode(self.model).decode("ascii"),
        }
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, path: str | None = None) -> ModelArtifact:
        doc = json.loads(text)
        if doc.get("format") != ARTIFACT_FORMAT:
            raise ValueError(f"unknown artifact format {doc.get('format')!r}")
        return cls(
            kind=str(doc["kind"]),
            params=dict(doc["params"]),
            feature_names=tuple(str(n) for n in doc["feature_names"]),
            data_hash=str(doc["data_hash"]),
            model=base64.b64decode(doc["model_b64"]),
            horizon=str(doc["horizon"]),
            n_train=int(doc["n_train"]),
            path=path,
        )


def write_artifact(path: str | Path, artifact: ModelArtifact) -> ModelArtifact:
    """Write atomically (temp file + rename); returns the artifact with `path` set."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(artifact.to_json(), encoding="utf-8")
    tmp.replace(p)
    return ModelArtifact(
        artifact.kind,
        artifact.params,
        artifact.feature_names,
        artifact.data_hash,
        artifact.model,
        artifact.horizon,
        artifact.n_train,
        str(p),
    )


def read_artifact(path: str | Path, kind: str | None = None) -> ModelArtifact:
    p = Path(path)
    art = ModelArtifact.from_json(p.read_text(encoding="utf-8"), str(p))
    if kind is not None and art.kind != kind:
        raise ValueError(f"{p} holds a {art.kind!r} model, not {kind!r}")
    return art


def check_vector(features: npt.NDArray[Any], k: int) -> F32Array:
    """One feature vector as float32 (1, k); raises on a wrong length or non-finite value."""
    x = np.asarray(features, dtype=np.float32)
    if x.shape != (k,):
        raise ValueError(f"expected a feature vector of shape ({k},), got {x.shape}")
    if not math.isfinite(float(x.sum())):
        raise ValueError("feature vector has a NaN or infinite value")
    return x.reshape(1, k)


def check_matrix(X: npt.NDArray[Any], k: int) -> F32Array:
    x = np.ascontiguousarray(X, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != k:
        raise ValueError(f"expected shape (n, {k}), got {x.shape}")
    return x


class ArtifactMixin:
    """`artifact()`, `save()` and `load()` shared by every model: the artifact is set by
    `fit()` (or `from_artifact()`), written atomically by `write_artifact`."""

    kind: ClassVar[str]
    _artifact: ModelArtifact | None
    _name: str

    def artifact(self) -> ModelArtifact:
        if self._artifact is None:
            raise RuntimeError(f"{self._name} is not fitted")
        return self._artifact

    def save(self, path: str | Path) -> ModelArtifact:
        self._artifact = write_artifact(path, self.artifact())
        return self._artifact

    @classmethod
    def load(cls, path: str | Path) -> Self:
        return cls.from_artifact(read_artifact(path, cls.kind))

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact, *, name: str | None = None) -> Self:
        raise NotImplementedError

    @classmethod
    def check_kind(cls, artifact: ModelArtifact) -> None:
        if artifact.kind != cls.kind:
            raise ValueError(f"artifact kind {artifact.kind!r} is not {cls.kind!r}")


@runtime_checkable
class Model(Protocol):
    """What the ensemble and the registry rely on."""

    @property
    def name(self) -> str: ...

    @property
    def horizon(self) -> str: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    def fit(self, dataset: Dataset) -> ModelArtifact: ...

    def predict(self, features: npt.NDArray[Any]) -> Prediction: ...

    def predict_batch(self, X: npt.NDArray[Any]) -> F64Array: ...

    def artifact(self) -> ModelArtifact: ...

    def save(self, path: str | Path) -> ModelArtifact: ...

    @classmethod
    def load(cls, path: str | Path) -> Self: ...
