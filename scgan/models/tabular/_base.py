"""The scikit-learn side shared by the tabular GAN imputers: checks, min–max scaling, rows."""

from collections.abc import Iterator
from dataclasses import fields

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from torch import nn

from ..._data import dense_rows, row_chunks
from ..._device import SeededStream, resolve_device, seeded
from ..._train import AdversarialPlan, epochs_for, train

CHUNK = 4096
"""Rows per forward pass when imputing."""


class Table:
    """Scaled values (missing entries 0) and their mask (1 observed), taken by rows.

    Either dense tensors on the device, or a CSR matrix whose stored entries
    (zeros included) are the observed ones, densified a block of rows at a time.
    """

    def __init__(self, values, mask, device: torch.device):
        self.values, self.mask, self.device = values, mask, device
        self.sparse = sparse.issparse(values)
        self.n_rows = values.shape[0]

    @classmethod
    def from_dense(cls, values: np.ndarray, mask: np.ndarray, device) -> "Table":
        tensors = [torch.as_tensor(a, dtype=torch.float32, device=device) for a in (values, mask)]
        return cls(*tensors, device)

    @classmethod
    def from_observed(cls, values: sparse.csr_matrix, device) -> "Table":
        """``values``' stored entries are observed, everything else missing."""
        mask = sparse.csr_matrix(
            (np.ones(values.nnz, np.float32), values.indices, values.indptr), shape=values.shape
        )
        return cls(values, mask, device)

    def take(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.sparse:
            return self.values[rows], self.mask[rows]
        rows = rows.cpu().numpy()
        return self._dense(self.values, rows), self._dense(self.mask, rows)

    def chunks(self) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor]]:
        for rows in row_chunks(self.n_rows, CHUNK):
            if self.sparse:
                yield rows, self._dense(self.values, rows), self._dense(self.mask, rows)
            else:
                yield rows, self.values[rows], self.mask[rows]

    def _dense(self, matrix: sparse.csr_matrix, rows) -> torch.Tensor:
        return torch.as_tensor(dense_rows(matrix, rows), dtype=torch.float32, device=self.device)


class TabularGANImputer(TransformerMixin, BaseEstimator):
    """``fit`` / ``transform`` on a 2-D array with ``NaN`` as missing.

    Columns are min–max scaled to [0, 1] with the minimum and range of their
    observed training values; ``transform`` reuses them (and the networks) on
    new rows and returns observed entries unchanged. Subclasses name their
    ``config_class`` (whose fields are also their keyword arguments), and
    implement ``_plan(table)`` (their game for the one training loop),
    ``_networks(d)`` (the named modules for ``d`` columns) and
    ``_impute_rows(x, m)`` (one imputation of scaled rows).
    """

    config_class: type
    n_draws = 1  # imputations averaged at transform (MisGAN makes it a setting)
    # fitted attributes and network-shaping settings the state carries besides weights and scaling
    _extra_state: tuple[str, ...] = ()

    def fit(self, X, y=None):
        """Train the networks on ``X`` (rows × columns, ``NaN`` missing)."""
        self._config()
        x = check_matrix(X)
        observed = ~np.isnan(x)
        _refuse_empty(~observed.any(axis=0))
        self._learn_columns(x[observed[:, j], j] for j in range(x.shape[1]))
        self.min_ = np.nanmin(x, axis=0)
        self.range_ = np.nanmax(x, axis=0) - self.min_
        self.device_ = resolve_device(self.device)
        return self._fit_table(Table.from_dense(*self._scaled(x), self.device_))

    def fit_observed(self, values: sparse.csr_matrix):
        """Train on a CSR matrix whose stored entries are the observed ones (every column has one)."""
        self._config()
        columns = sparse.csc_matrix(values)
        _refuse_empty(np.diff(columns.indptr) == 0)
        bounds = zip(columns.indptr[:-1], columns.indptr[1:], strict=True)
        self._learn_columns(columns.data[start:stop] for start, stop in bounds)
        starts = columns.indptr[:-1]
        self.min_ = np.minimum.reduceat(columns.data, starts).astype(np.float64)
        self.range_ = np.maximum.reduceat(columns.data, starts) - self.min_
        self.device_ = resolve_device(self.device)
        return self._fit_table(self._observed_table(values))

    def transform(self, X):
        """``X`` with its missing entries imputed (observed entries unchanged)."""
        x = check_matrix(X)
        self._check_width(x.shape[1])
        imputed = np.empty(x.shape)
        for rows, values in self._impute_table(Table.from_dense(*self._scaled(x), self.device_)):
            imputed[rows] = values
        return np.where(np.isnan(x), imputed, x)

    def impute_observed(self, values: sparse.csr_matrix) -> Iterator[tuple[slice, np.ndarray]]:
        """Imputations of :meth:`fit_observed`'s kind of matrix, a block of rows at a time."""
        self._check_width(values.shape[1])
        return self._impute_table(self._observed_table(values))

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

    def _config(self):
        """The settings as the config dataclass, which refuses impossible values."""
        return self.config_class(
            **{f.name: getattr(self, f.name) for f in fields(self.config_class)}
        )

    def _fit_table(self, table: Table):
        self.n_features_in_ = table.values.shape[1]
        plan = self._plan(table)
        result = train(
            plan,
            epochs=epochs_for(self.iterations, plan.steps_per_epoch()),
            device=self.device_,
            seed=self.random_state,
            progress=self.progress,
        )
        self.nets_, self.history_ = plan.nets, result.history
        return self

    def _learn_columns(self, observed: Iterator[np.ndarray]) -> None:
        """Hook: see each column's observed values at ``fit`` (GAIN finds near-categorical ones)."""

    def _plan(self, table: Table) -> AdversarialPlan:
        raise NotImplementedError

    def _networks(self, d: int) -> dict[str, nn.Module]:
        raise NotImplementedError

    def _impute_rows(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _impute_table(self, table: Table) -> Iterator[tuple[slice, np.ndarray]]:
        """Unscaled imputations, ``CHUNK`` rows at a time (the mean of ``n_draws`` draws)."""
        stream = SeededStream(self.device_, self.random_state + 1)
        for rows, x, m in table.chunks():
            with stream.resume(), torch.no_grad():
                draws = [self._impute_rows(x, m).cpu().numpy() for _ in range(self.n_draws)]
            chunk = np.mean([draw.astype(np.float64) for draw in draws], axis=0)
            yield rows, chunk * _safe(self.range_) + self.min_

    def _check_width(self, width: int) -> None:
        if width != self.n_features_in_:
            msg = f"X has {width} columns; the imputer was fitted on {self.n_features_in_}"
            raise ValueError(msg)

    def _scaled(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = (~np.isnan(x)).astype(np.float32)
        scaled = np.nan_to_num((x - self.min_) / _safe(self.range_), nan=0.0)
        return scaled.astype(np.float32), mask

    def _observed_table(self, values: sparse.csr_matrix) -> Table:
        columns = values.indices
        scaled = (values.data.astype(np.float64) - self.min_[columns]) / _safe(self.range_)[columns]
        matrix = sparse.csr_matrix(
            (scaled.astype(np.float32), values.indices, values.indptr), shape=values.shape
        )
        return Table.from_observed(matrix, self.device_)


class TabularPlan(AdversarialPlan):
    """What the tabular games share: batches of random rows, ``iterations`` steps in all."""

    def __init__(self, estimator: TabularGANImputer, table: Table):
        self.estimator, self.table = estimator, table
        self.batch_size = min(estimator.batch_size, table.n_rows)

    def steps_per_epoch(self) -> int:
        """An epoch: as many steps as a pass over the rows would take."""
        return -(-self.table.n_rows // self.batch_size)

    def total_steps(self, epochs: int) -> int:
        return self.estimator.iterations

    def batches(self, epoch: int) -> Iterator:
        per_epoch = self.steps_per_epoch()
        steps = min(per_epoch, self.estimator.iterations - epoch * per_epoch)
        for _ in range(steps):
            rows = torch.randint(self.table.n_rows, (self.batch_size,), device=self.table.device)
            yield self.table.take(rows)


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


def _refuse_empty(empty: np.ndarray) -> None:
    """Refuse columns (``empty``: a boolean per column) without any observed value."""
    if empty.any():
        msg = (
            f"columns {np.flatnonzero(empty).tolist()[:10]} have no observed value; drop them "
            "(nothing can be learnt about a column that is always missing)"
        )
        raise ValueError(msg)


def _safe(spread: np.ndarray) -> np.ndarray:
    """Column ranges with 0 replaced by 1 (constant columns scale to 0)."""
    return np.where(spread > 0, spread, 1.0)
