"""The contract every imputation backend keeps: what ``scgan.Imputer`` may rely on.

A backend sees arrays, never an AnnData: raw counts as a CSR matrix (cells ×
genes, float32) and, when it uses them, integer condition codes (cells ×
conditions: the cell type first, then the batch). It trains through
:func:`scgan._train.train`, returns counts as an :class:`Imputation` and
saves its fitted state as plain values, arrays and weights.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
from scipy import sparse

from .._data import Imputation
from .._device import check_devices, resolve_device


class Backend(ABC):
    """An imputation backend: flags, ``fit``, ``impute``, ``get_state``/``set_state``, ``history_``.

    Subclasses set the class attributes and implement the abstract methods;
    ``scgan.models.BACKENDS`` lists them by :attr:`name`.
    """

    name: ClassVar[str]
    """The method name users pass (``method="began"``)."""
    summary: ClassVar[str]
    """One line for the list of methods in ``impute_dropouts``' docstring."""
    config_class: ClassVar[type]
    """The frozen dataclass of its settings."""
    uses_labels: ClassVar[bool] = True
    """Takes cell-type codes (derived by clustering when the user gives none)."""
    uses_batches: ClassVar[bool] = False
    """Takes batch codes as a second condition."""
    denoises: ClassVar[bool] = False
    """Can replace observed counts too (``only_zeros=False``)."""
    supports_target_batch: ClassVar[bool] = False
    """Can impute every cell as if from one batch."""
    distributes: ClassVar[bool] = False
    """Can train on several devices (``devices > 1``)."""
    draws: ClassVar[bool] = False
    """Can draw imputations from its model (``n_draws``): ``impute`` takes ``n_draws``."""

    def __init__(
        self,
        config: Any = None,
        *,
        device: str = "auto",
        random_state: int = 0,
        progress: bool | None = None,
        devices: int = 1,
    ):
        self.config = self.config_class() if config is None else config
        if devices != 1:
            if not self.distributes:
                msg = f"devices={devices}: method {self.name!r} trains on one device; 'began' trains on several"
                raise ValueError(msg)
            check_devices(devices, resolve_device(device))
        self.device, self.devices = device, devices
        self.random_state = random_state
        self.progress = progress
        self.history_: dict[str, np.ndarray] = {}
        """Term name → values per epoch (first axis), as :func:`scgan._train.train` records."""

    def takes_conditions(self) -> bool:
        """Whether ``fit`` and ``impute`` want condition codes with these settings."""
        return self.uses_labels

    @abstractmethod
    def fit(
        self, counts: sparse.csr_matrix, codes: np.ndarray | None, n_categories: list[int] | None
    ) -> "Backend":
        """Train on ``counts``; ``codes`` has one column per condition with ``n_categories``."""

    @abstractmethod
    def impute(
        self, counts: sparse.csr_matrix, codes: np.ndarray | None, *, only_zeros: bool = True
    ) -> Imputation:
        """Impute ``counts`` (cells × the training genes)."""

    def impute_blocks(
        self, counts: sparse.csr_matrix, codes: np.ndarray | None, *, only_zeros: bool = True
    ) -> Iterator[tuple[slice, Imputation]]:
        """:meth:`impute` a block of rows at a time, for outputs written as they come.

        Each item is the block's rows and their imputation. By default one
        block holds every row.
        """
        yield slice(0, counts.shape[0]), self.impute(counts, codes, only_zeros=only_zeros)

    @abstractmethod
    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""

    @abstractmethod
    def set_state(self, state: dict) -> "Backend":
        """Restore what :meth:`get_state` returned, on ``self.device``."""

    def params(self) -> dict:
        """The settings actually used, for ``uns[key_added]['params']``."""
        return {
            **_plain(asdict(self.config)),
            "device": str(self.device_),
            "random_state": self.random_state,
        }

    def _resolve_device(self) -> None:
        self.device_ = resolve_device(self.device)


def _plain(settings: dict) -> dict:
    """Tuples as lists, so the record writes to ``.h5ad``."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def condition_codes(n_cells: int, codes, n_categories) -> tuple[np.ndarray, list[int]]:
    """Codes as a checked ``(cells, n)`` int64 array (n = 0 without codes), and the category counts."""
    if codes is None:
        if n_categories:
            msg = f"the model was fitted with {len(n_categories)} conditions; pass their codes"
            raise ValueError(msg)
        return np.zeros((n_cells, 0), np.int64), []
    codes = np.asarray(codes, dtype=np.int64).reshape(n_cells, -1)
    n_categories = list(n_categories) if n_categories is not None else list(codes.max(axis=0) + 1)
    if codes.shape[1] != len(n_categories) or (codes < 0).any() or (codes >= n_categories).any():
        msg = (
            f"condition codes must be {len(n_categories)} columns of integers below {n_categories}"
        )
        raise ValueError(msg)
    return codes, n_categories


def too_small(config, names: tuple[str, ...], minimum: int = 1) -> list[str]:
    """A problem line for each setting in ``names`` below ``minimum`` (config validation)."""
    return [
        f"{name}={getattr(config, name)}: must be at least {minimum}"
        for name in names
        if getattr(config, name) < minimum
    ]
