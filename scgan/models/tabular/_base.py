"""The scikit-learn side shared by the tabular GAN imputers: checks, min–max scaling, seeding."""

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from ..._device import resolve_device, seeded
from ..._train import progress_bar


class TabularGANImputer(TransformerMixin, BaseEstimator):
    """``fit`` / ``transform`` on a 2-D array with ``NaN`` as missing.

    Columns are min–max scaled to [0, 1] with the minimum and range of their
    observed training values; ``transform`` reuses them (and the networks) on
    new rows and returns observed entries unchanged. Subclasses implement
    ``_train(x, m)`` and ``_impute(x, m)`` on scaled arrays (missing entries 0)
    and masks (1 observed), and ``_networks(d)``: the named modules for ``d`` columns.
    """

    # fitted attributes and network-shaping settings the state carries besides weights and scaling
    _extra_state: tuple[str, ...] = ()
    _at_least_one: tuple[str, ...] = ("batch_size",)  # settings refused below 1

    def fit(self, X, y=None):
        """Train the networks on ``X`` (rows × columns, ``NaN`` missing)."""
        self._check_params()
        x = check_matrix(X)
        observed = ~np.isnan(x)
        empty = np.flatnonzero(~observed.any(axis=0))
        if len(empty):
            msg = (
                f"columns {empty.tolist()[:10]} have no observed value; drop them "
                "(nothing can be learnt about a column that is always missing)"
            )
            raise ValueError(msg)
        self.n_features_in_ = x.shape[1]
        self.min_ = np.nanmin(x, axis=0)
        self.range_ = np.nanmax(x, axis=0) - self.min_
        self.device_ = resolve_device(self.device)
        with seeded(self.device_, self.random_state):
            self._train(*self._scaled(x))
        return self

    def transform(self, X):
        """``X`` with its missing entries imputed (observed entries unchanged)."""
        x = check_matrix(X)
        if x.shape[1] != self.n_features_in_:
            msg = f"X has {x.shape[1]} columns; the imputer was fitted on {self.n_features_in_}"
            raise ValueError(msg)
        scaled, mask = self._scaled(x)
        with seeded(self.device_, self.random_state + 1):
            imputed = self._impute(scaled, mask) * _safe(self.range_) + self.min_
        return np.where(np.isnan(x), imputed, x)

    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""
        return {
            "n_features_in": self.n_features_in_,
            "min": self.min_,
            "range": self.range_,
            "history": self.history_,
            "extra": {name: getattr(self, name) for name in self._extra_state},
            "networks": {name: net.state_dict() for name, net in self.nets_.items()},
        }

    def set_state(self, state: dict):
        """Restore what :meth:`get_state` returned, on ``self.device``."""
        self.device_ = resolve_device(self.device)
        self.n_features_in_ = int(state["n_features_in"])
        self.min_, self.range_, self.history_ = state["min"], state["range"], state["history"]
        for name, value in state["extra"].items():
            setattr(self, name, value)
        with seeded(self.device_, self.random_state):  # leaves the caller's RNG alone
            self.nets_ = self._networks(self.n_features_in_)
        for name, net in self.nets_.items():
            net.load_state_dict(state["networks"][name])
        return self

    def _check_params(self) -> None:
        """Refuse settings the training cannot run with."""
        small = [
            f"{name}={getattr(self, name)}"
            for name in self._at_least_one
            if getattr(self, name) < 1
        ]
        if small:
            msg = f"{', '.join(small)}: must be at least 1"
            raise ValueError(msg)

    def _scaled(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = (~np.isnan(x)).astype(np.float32)
        scaled = np.nan_to_num((x - self.min_) / _safe(self.range_), nan=0.0)
        return scaled.astype(np.float32), mask

    def _progress(self):
        """A bar over training steps (shown on a terminal when ``progress`` is ``None``)."""
        name = type(self).__name__.removesuffix("Imputer")
        return progress_bar(self.iterations, enabled=self.progress, desc=name, unit="step")

    def _tensors(self, *arrays: np.ndarray) -> list[torch.Tensor]:
        return [torch.as_tensor(a, dtype=torch.float32, device=self.device_) for a in arrays]

    @torch.no_grad()
    def _by_chunks(self, impute_rows, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """``impute_rows(x, m)`` over chunks of 4096 rows, as a float64 array."""
        data, mask = self._tensors(x, m)
        chunks = zip(data.split(4096), mask.split(4096), strict=True)
        return (
            torch.cat([impute_rows(xb, mb) for xb, mb in chunks]).cpu().numpy().astype(np.float64)
        )


def check_matrix(X) -> np.ndarray:
    """``X`` as a new 2-D float64 array; refuses other shapes and infinite values."""
    x = np.array(X, dtype=np.float64, copy=True)
    if x.ndim != 2:
        msg = f"expected a 2-D array (rows × columns), got {x.ndim} dimension(s)"
        raise ValueError(msg)
    if np.isinf(x).any():
        msg = "X holds infinite values; mark missing entries with NaN, not inf"
        raise ValueError(msg)
    return x


def _safe(spread: np.ndarray) -> np.ndarray:
    """Column ranges with 0 replaced by 1 (constant columns scale to 0)."""
    return np.where(spread > 0, spread, 1.0)
