"""``scgan.Imputer``: train once on an AnnData, impute it or new cells, save and load."""

import logging
import sys
import warnings
from dataclasses import asdict, fields
from pathlib import Path

import anndata as ad
import numpy as np
from scipy import sparse

from . import __version__
from ._cluster import leiden, pca_embedding
from ._data import get_counts, normalise_log, obs_column
from ._files import staged
from ._keys import IMPUTED
from .models import BACKENDS, make_backend
from .models._state import check_replaceable, load_state, save_state

logger = logging.getLogger(__name__)

MIN_CELLS = 10
FORMAT_VERSION = 1


class Imputer:
    """A dropout imputer that outlives one call: ``fit``, ``impute``, ``save``, ``load``.

    :func:`scgan.pp.impute_dropouts` is ``Imputer(...).fit(adata)`` followed by
    imputing the same cells. Fit once and impute new cells measured on the
    same genes (and, when used, the same cell types and batches).

    Parameters
    ----------
    method, layer, labels_key, batch_key, random_state, device, config, **settings
        As in :func:`scgan.pp.impute_dropouts`.
    progress
        Show a progress bar while training: ``None`` only in a terminal.

    Examples
    --------
    >>> import scgan
    >>> adata = scgan.datasets.simulate(200, 100, random_state=0)
    >>> imputer = scgan.Imputer(labels_key="cell_type", side=6, epochs=2).fit(adata)
    >>> new = scgan.datasets.simulate(50, 100, random_state=1)
    >>> imputer.impute(new)
    >>> new.layers["scgan_imputed"].shape
    (50, 100)
    """

    def __init__(
        self,
        method: str = "began",
        *,
        layer: str | None = None,
        labels_key: str | None = None,
        batch_key: str | None = None,
        random_state: int = 0,
        device: str = "auto",
        config=None,
        progress: bool | None = None,
        **settings,
    ):
        self.method, self.layer = method, layer
        self.labels_key, self.random_state = labels_key, random_state
        self.backend = make_backend(
            method,
            config=config,
            device=device,
            random_state=random_state,
            progress=progress,
            **settings,
        )
        self.batch_key = _batch_key_for(self.backend, method, batch_key)
        self.fitted = False

    # --- public ---------------------------------------------------------------------------------

    def fit(self, adata: ad.AnnData) -> "Imputer":
        """Train on the counts of ``adata`` (not changed)."""
        self._train(*self._prepare(adata))
        return self

    def fit_impute(
        self,
        adata: ad.AnnData,
        *,
        target_batch: str | None = None,
        only_zeros: bool = True,
        key_added: str = IMPUTED,
        copy: bool = False,
    ) -> ad.AnnData | None:
        """Train on ``adata`` and impute the same cells; every argument is checked before training."""
        counts, codes = self._prepare(adata)
        target_codes = self._with_target(codes, target_batch)
        self._check_denoising(only_zeros)
        self._train(counts, codes)
        return self._write(adata, counts, target_codes, target_batch, only_zeros, key_added, copy)

    def impute(
        self,
        adata: ad.AnnData,
        *,
        target_batch: str | None = None,
        only_zeros: bool = True,
        key_added: str = IMPUTED,
        copy: bool = False,
    ) -> ad.AnnData | None:
        """Impute the cells of ``adata`` with the trained model.

        ``adata`` needs the training genes (any order; others are refused) and,
        if the model uses them, ``labels_key`` and ``batch_key`` columns with
        categories seen in training (the batch column is not needed with
        ``target_batch``). With labels derived by clustering, each new cell
        takes the label of the nearest cluster centroid. For ``"began"`` the
        neighbourhood input and the expected count of a zero come from the new
        cells' nearest neighbours among themselves, so impute a batch of cells
        (at least 10), not one at a time. Outputs as in
        :func:`scgan.pp.impute_dropouts`.
        """
        self._check_fitted()
        _check_anndata(adata)
        counts, order = self._counts_in_training_order(adata)
        _check_size(counts)
        codes = self._codes_for(adata, counts, target_batch)
        return self._write(
            adata, counts, codes, target_batch, only_zeros, key_added, copy, order=order
        )

    def save(self, path: str | Path, *, overwrite: bool = False) -> None:
        """Write the model to the directory ``path``: ``scgan.json`` and ``weights.pt``.

        Settings, genes and categories go to JSON; ``weights.pt`` holds only
        tensors in plain dicts, which :meth:`load` reads with
        ``torch.load(weights_only=True)``: it refuses any other object, so
        loading never runs code from the file.
        """
        self._check_fitted()
        path = Path(path)
        check_replaceable(path, overwrite=overwrite)
        path.parent.mkdir(parents=True, exist_ok=True)
        with staged(path, directory=True) as staging:
            save_state(staging, self._state())
        logger.info("saved the %r model to %s", self.method, path)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> "Imputer":
        """Read a model written by :meth:`save`, onto ``device``."""
        state = load_state(Path(path))
        if state.get("format") != FORMAT_VERSION or state.get("method") not in BACKENDS:
            msg = (
                f"{path} is not a scgan model this version can read (format {state.get('format')})"
            )
            raise ValueError(msg)
        config_class = BACKENDS[state["method"]][1]
        config = config_class(**_config_values(config_class, state["config"]))
        self = cls(
            state["method"],
            layer=state["layer"],
            labels_key=state["labels_key"],
            batch_key=state["batch_key"],
            random_state=state["random_state"],
            device=device,
            config=config,
        )
        self.genes_ = list(state["genes"])
        self.labels_, self.batches_ = state["labels"], state["batches"]
        self.centroids_ = state.get("centroids")
        self.backend.set_state(state["backend"])
        self.fitted = True
        return self

    # --- fitting --------------------------------------------------------------------------------

    def _prepare(self, adata: ad.AnnData) -> tuple[sparse.csr_matrix, np.ndarray | None]:
        """Counts and condition codes of the training cells; records genes and categories."""
        _check_anndata(adata)
        counts = get_counts(adata, self.layer)
        _check_shape(counts)
        self.fitted = False
        self.genes_ = [str(g) for g in adata.var_names]
        self.labels_, self.batches_, self.centroids_ = None, None, None
        if not self._uses_labels():
            return counts, None
        if self.labels_key is not None:
            label_codes, names = _categories(adata, self.labels_key, "labels_key")
            self.labels_ = {"key": self.labels_key, "derived": False, "categories": names}
        else:
            label_codes, names = self._derive_labels(counts)
            self.labels_ = {"key": None, "derived": True, "categories": names}
        columns = [label_codes]
        if self.batch_key is not None:
            batch_codes, batch_names = _categories(adata, self.batch_key, "batch_key")
            columns.append(batch_codes)
            self.batches_ = {"key": self.batch_key, "categories": batch_names}
        return counts, np.stack(columns, axis=1).astype(np.int64)

    def _train(self, counts, codes) -> None:
        logger.info("training %r on %d cells × %d genes", self.method, *counts.shape)
        self.backend.fit(counts, codes, self._n_categories())
        self.fitted = True

    def _derive_labels(self, counts) -> tuple[np.ndarray, list[str]]:
        """Leiden clusters of the PCA of log-normalised counts, and their centroids."""
        log_values = normalise_log(counts)
        clusters = leiden(
            pca_embedding(log_values, random_state=self.random_state),
            random_state=self.random_state,
        )
        names, codes = np.unique(clusters, return_inverse=True)
        logger.info("no labels_key: derived %d labels by Leiden clustering", len(names))
        self.centroids_ = np.stack([log_values[codes == c].mean(0) for c in range(len(names))])
        return codes, [str(n) for n in names]

    def _uses_labels(self) -> bool:
        return getattr(self.backend, "uses_labels", True) and getattr(
            self.backend.config, "conditional", True
        )

    def _n_categories(self) -> list[int] | None:
        if self.labels_ is None:
            return None
        sizes = [len(self.labels_["categories"])]
        return sizes + ([len(self.batches_["categories"])] if self.batches_ else [])

    # --- imputing -------------------------------------------------------------------------------

    def _counts_in_training_order(self, adata: ad.AnnData) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Counts with genes in training order, and each training gene's column in ``adata``."""
        genes = [str(g) for g in adata.var_names]
        if genes != self.genes_:
            missing = sorted(set(self.genes_) - set(genes))
            extra = sorted(set(genes) - set(self.genes_))
            if missing or extra or len(genes) != len(self.genes_):
                msg = (
                    f"genes differ from training: {len(missing)} missing (e.g. {missing[:5]}), "
                    f"{len(extra)} not seen in training (e.g. {extra[:5]}); subset adata to the "
                    "training genes, e.g. adata[:, imputer.genes_]"
                )
                raise ValueError(msg)
        position = {gene: i for i, gene in enumerate(genes)}
        order = np.array([position[g] for g in self.genes_], dtype=np.int64)
        return get_counts(adata, self.layer)[:, order], order

    def _codes_for(self, adata, counts, target_batch: str | None) -> np.ndarray | None:
        """Condition codes of new cells, by the training categories."""
        if self.labels_ is None:
            return self._with_target(None, target_batch)
        if self.labels_["derived"]:
            columns = [self._nearest_centroid(counts)]
        else:
            columns = [_codes_in(adata, self.labels_key, self.labels_["categories"])]
        if self.batches_ is not None:
            if target_batch is not None:
                columns.append(np.zeros(len(columns[0]), np.int64))
            else:
                columns.append(_codes_in(adata, self.batch_key, self.batches_["categories"]))
        return self._with_target(np.stack(columns, axis=1), target_batch)

    def _nearest_centroid(self, counts) -> np.ndarray:
        log_values = normalise_log(counts)
        distances = (
            (log_values**2).sum(1)[:, None]
            - 2 * log_values @ self.centroids_.T
            + (self.centroids_**2).sum(1)[None, :]
        )
        return distances.argmin(axis=1)

    def _with_target(self, codes: np.ndarray | None, target_batch: str | None) -> np.ndarray | None:
        """``codes`` with every cell's batch set to ``target_batch`` if given."""
        if target_batch is None:
            return codes
        if self.batches_ is None:
            raise ValueError(self._why_no_target_batch())
        names = self.batches_["categories"]
        if str(target_batch) not in names:
            msg = f"target_batch {target_batch!r} is not a batch in the data; batches: {names}"
            raise ValueError(msg)
        target = codes.copy()
        target[:, 1] = names.index(str(target_batch))
        return target

    def _write(self, adata, counts, codes, target_batch, only_zeros, key_added, copy, order=None):
        """Impute and write ``layers[key_added]``, ``layers[key_added + '_std']``, ``uns[key_added]``.

        ``order[i]`` is the column of ``adata`` holding the ``i``-th gene of ``counts``.
        """
        self._check_denoising(only_zeros)
        mean, std = self.backend.impute(counts, codes, only_zeros=only_zeros)
        if only_zeros:
            observed = counts.toarray()
            mean = np.where(observed > 0, observed, mean)
            std = np.where(observed > 0, 0.0, std)
        record = {
            "method": self.method,
            "layer": "X" if self.layer is None else self.layer,
            "only_zeros": only_zeros,
            "target_batch": target_batch,
            "params": self.backend.params(),
            "labels": self.labels_,
            "history": self.backend.history_,
        }
        if self.batches_ is not None:
            record["batch"] = self.batches_
        if self.labels_ is not None and self.labels_["derived"] and codes is not None:
            record["labels"] = {**self.labels_, "codes": codes[:, 0]}
        if order is not None:
            back = np.argsort(order)
            mean, std = mean[:, back], std[:, back]
        adata = adata.copy() if copy else adata
        adata.layers[key_added] = mean.astype(np.float32)
        adata.layers[key_added + "_std"] = std.astype(np.float32)
        adata.uns[key_added] = record
        logger.info(
            "added .layers[%r], .layers[%r], .uns[%r]", key_added, key_added + "_std", key_added
        )
        return adata if copy else None

    def _check_denoising(self, only_zeros: bool) -> None:
        if not only_zeros and not getattr(self.backend, "denoises", True):
            msg = f"method {self.method!r} only fills zeros; denoising (only_zeros=False) needs 'began'"
            raise ValueError(msg)

    def _why_no_target_batch(self) -> str:
        if not getattr(self.backend, "uses_batches", True):
            return f"method {self.method!r} does not use batches, so target_batch cannot apply; use 'began'"
        if not self._uses_labels():
            return "target_batch needs a conditional model; do not pass conditional=False"
        return "target_batch needs batch_key, the obs column that names the batches"

    # --- saving ---------------------------------------------------------------------------------

    def _state(self) -> dict:
        config = asdict(self.backend.config)
        return {
            "format": FORMAT_VERSION,
            "scgan_version": __version__,
            "method": self.method,
            "config": config,
            "layer": self.layer,
            "labels_key": self.labels_key,
            "batch_key": self.batch_key,
            "random_state": self.random_state,
            "genes": self.genes_,
            "labels": self.labels_,
            "batches": self.batches_,
            **({} if self.centroids_ is None else {"centroids": self.centroids_}),
            "backend": self.backend.get_state(),
        }

    def _check_fitted(self) -> None:
        if not self.fitted:
            msg = "this Imputer is not trained yet; call fit(adata) first or Imputer.load(path)"
            raise RuntimeError(msg)

    def __repr__(self) -> str:
        state = f"{len(self.genes_)} genes" if self.fitted else "not fitted"
        return f"Imputer(method={self.method!r}, {state})"


# --- checks -------------------------------------------------------------------------------------


def _check_anndata(adata: ad.AnnData) -> None:
    """Refuse AnnData objects that cannot take new layers safely."""
    if not isinstance(adata, ad.AnnData):
        msg = f"expected an AnnData, got {type(adata).__name__}"
        raise TypeError(msg)
    if adata.isbacked:
        msg = "adata is backed (read with backed='r'); load it into memory first: adata = adata.to_memory()"
        raise ValueError(msg)
    if adata.is_view:
        msg = (
            "adata is a view of another AnnData; make it a real object first: adata = adata.copy()"
        )
        raise ValueError(msg)
    if not adata.var_names.is_unique:
        repeated = adata.var_names[adata.var_names.duplicated()].unique().tolist()
        msg = (
            f"gene names repeat (e.g. {repeated[:5]}), so genes cannot be matched by name; "
            "make them unique first: adata.var_names_make_unique()"
        )
        raise ValueError(msg)


def _check_size(counts: sparse.csr_matrix) -> None:
    """Refuse too few cells, no genes and no counts at all."""
    n_cells, n_genes = counts.shape
    if n_cells < MIN_CELLS:
        msg = f"only {n_cells} cell(s): imputation needs at least {MIN_CELLS} cells"
        raise ValueError(msg)
    if n_genes == 0 or counts.nnz == 0:
        msg = f"the counts ({n_cells} × {n_genes}) hold no non-zero value; nothing can be imputed"
        raise ValueError(msg)


def _check_shape(counts: sparse.csr_matrix) -> None:
    """:func:`_check_size`, and warn that all-zero cells and genes stay zero."""
    _check_size(counts)
    for axis, what, fix in ((1, "cell", "filter_cells"), (0, "gene", "filter_genes")):
        empty = int((counts.getnnz(axis=axis) == 0).sum())
        if empty:
            _warn(
                f"{empty} {what}(s) have no counts and stay zero; to drop them use "
                f"sc.pp.{fix}(adata, min_counts=1)"
            )


def _warn(message: str) -> None:
    """A ``UserWarning`` pointing at the user's line: the first caller outside scgan."""
    package = Path(__file__).parent
    frame, level = sys._getframe(0), 1
    while frame is not None and Path(frame.f_code.co_filename).is_relative_to(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _batch_key_for(backend, method: str, batch_key: str | None) -> str | None:
    """``batch_key``, or ``None`` (with a warning) for a backend that does not use batches."""
    if getattr(backend, "uses_batches", True) or batch_key is None:
        return batch_key
    _warn(f"method {method!r} does not use batches; batch_key={batch_key!r} is ignored")
    return None


def _categories(adata: ad.AnnData, key: str, role: str) -> tuple[np.ndarray, list[str]]:
    values = obs_column(adata, key)
    categories, codes = np.unique(values, return_inverse=True)
    if len(categories) < 2:
        msg = f"obs[{key!r}] has a single category; a {role} needs at least two (or pass None)"
        raise ValueError(msg)
    return codes, [str(c) for c in categories]


def _codes_in(adata: ad.AnnData, key: str, categories: list[str]) -> np.ndarray:
    """Codes of ``obs[key]`` by the training ``categories``; unseen values are refused."""
    values = obs_column(adata, key)
    unseen = sorted(set(values) - set(categories))
    if unseen:
        msg = (
            f"obs[{key!r}] has categories not seen in training: {unseen[:10]}; known: {categories}"
        )
        raise ValueError(msg)
    index = {name: i for i, name in enumerate(categories)}
    return np.array([index[v] for v in values], dtype=np.int64)


def _config_values(config_class, saved: dict) -> dict:
    """Saved config fields, with lists turned back into tuples where the default is a tuple."""
    values = {}
    for f in fields(config_class):
        if f.name in saved:
            default = getattr(config_class(), f.name)
            value = saved[f.name]
            values[f.name] = tuple(value) if isinstance(default, tuple) else value
    return values
