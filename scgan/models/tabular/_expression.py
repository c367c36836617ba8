"""A tabular imputer as an ``impute_dropouts`` backend: zeros are missing, on the log scale."""

from dataclasses import asdict
from typing import ClassVar

import numpy as np

from ..._data import expressed_genes, library_size, normalise_log, to_counts
from .._base import Backend, Imputation
from ._base import TabularGANImputer
from ._config import GAINConfig, MisGANConfig
from ._gain import GAINImputer
from ._misgan import MisGANImputer


class TabularBackend(Backend):
    """A tabular GAN imputer on expression counts.

    Counts are library-normalised (1e4) and ``log1p``-transformed; zeros are
    the missing entries. Genes never expressed and cells without counts stay
    zero. The imputed log values go back to counts on each cell's own
    library size. There is one imputation, so there is no spread.
    """

    estimator_class: ClassVar[type[TabularGANImputer]]
    uses_labels = False

    def fit(self, counts, codes=None, n_categories=None) -> "TabularBackend":
        """Train on ``counts`` (cells × genes); condition codes are not used."""
        self._resolve_device()
        self.expressed_ = expressed_genes(counts)
        self.estimator_ = self._estimator().fit_observed(self._observed(counts))
        self.history_ = self.estimator_.history_
        return self

    def impute(self, counts, codes=None, *, only_zeros: bool = True) -> Imputation:
        """Imputed counts (cells × genes) at the zeros; observed entries are the caller's to keep."""
        library = library_size(counts)
        out = np.zeros(counts.shape, np.float32)
        for rows, values in self.estimator_.impute_observed(self._observed(counts)):
            log_values = np.zeros((len(values), counts.shape[1]))
            log_values[:, self.expressed_] = values
            log_values[library[rows] == 0] = 0.0
            out[rows] = to_counts(log_values, library[rows])
        return Imputation(out, None)

    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""
        return {"expressed": self.expressed_, "estimator": self.estimator_.get_state()}

    def set_state(self, state: dict) -> "TabularBackend":
        """Restore what :meth:`get_state` returned, on ``self.device``."""
        self._resolve_device()
        self.expressed_ = state["expressed"]
        self.estimator_ = self._estimator().set_state(state["estimator"])
        self.history_ = self.estimator_.history_
        return self

    def _estimator(self) -> TabularGANImputer:
        return self.estimator_class(
            **asdict(self.config),
            device=self.device,
            random_state=self.random_state,
            progress=self.progress,
        )

    def _observed(self, counts):
        """Log-normalised counts of the expressed genes; the stored entries are the observed ones."""
        return normalise_log(counts)[:, self.expressed_].tocsr()


class GAINBackend(TabularBackend):
    name = "gain"
    summary = "GAIN (Yoon et al. 2018) on log-normalised counts, zeros as missing"
    config_class = GAINConfig
    estimator_class = GAINImputer


class MisGANBackend(TabularBackend):
    name = "misgan"
    summary = "MisGAN (Li et al. 2019) on log-normalised counts, zeros as missing"
    config_class = MisGANConfig
    estimator_class = MisGANImputer
