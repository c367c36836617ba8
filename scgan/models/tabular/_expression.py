"""Running a tabular imputer on expression counts: zeros are missing, on the log scale."""

import inspect
from dataclasses import asdict, dataclass, field, make_dataclass
from typing import Any

import numpy as np

from ..._data import expressed_genes, library_size, normalise_log, to_counts


def config_for(estimator: type) -> type:
    """A frozen config dataclass with the estimator's keyword defaults (device, seed, bar aside)."""
    fields = [
        (p.name, Any, field(default=p.default))
        for p in inspect.signature(estimator).parameters.values()
        if p.name not in ("device", "random_state", "progress")
    ]
    return make_dataclass(
        f"{estimator.__name__.removesuffix('Imputer')}Config",
        fields,
        frozen=True,
        namespace={"estimator": estimator},
    )


@dataclass
class ExpressionImputer:
    """A tabular GAN imputer as an ``impute_dropouts`` backend.

    Counts are library-normalised (1e4) and ``log1p``-transformed; zeros are
    the missing entries. Genes never expressed and cells without counts stay
    zero. The imputed log values go back to counts on each cell's own
    library size. There is one imputation, so the spread is zero.
    """

    config: Any
    device: str = "auto"
    random_state: int = 0
    progress: bool | None = None
    uses_batches = False
    uses_labels = False
    denoises = False

    def fit(self, counts, codes=None, n_categories=None) -> "ExpressionImputer":
        """Train on ``counts`` (cells × genes); condition codes are not used."""
        self.expressed_ = expressed_genes(counts)
        self.estimator_ = self._estimator().fit(self._missing_as_nan(counts))
        self.history_ = self.estimator_.history_
        return self

    def impute(
        self, counts, codes=None, *, only_zeros: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Imputed counts and a zero spread (cells × genes); observed counts are always kept."""
        log_values = np.zeros(counts.shape)
        log_values[:, self.expressed_] = self.estimator_.transform(self._missing_as_nan(counts))
        library = library_size(counts)
        log_values[library == 0] = 0.0
        return to_counts(log_values, library), np.zeros(counts.shape)

    def params(self) -> dict:
        """The settings actually used."""
        return {
            **asdict(self.config),
            "device": str(self.estimator_.device_),
            "random_state": self.random_state,
        }

    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""
        return {"expressed": self.expressed_, "estimator": self.estimator_.get_state()}

    def set_state(self, state: dict) -> "ExpressionImputer":
        """Restore what :meth:`get_state` returned, on ``self.device``."""
        self.expressed_ = state["expressed"]
        self.estimator_ = self._estimator().set_state(state["estimator"])
        self.history_ = self.estimator_.history_
        return self

    def _estimator(self):
        estimator = type(self.config).estimator
        return estimator(
            **asdict(self.config),
            device=self.device,
            random_state=self.random_state,
            progress=self.progress,
        )

    def _missing_as_nan(self, counts) -> np.ndarray:
        log_values = normalise_log(counts)[:, self.expressed_]
        return np.where(log_values > 0, log_values, np.nan)
