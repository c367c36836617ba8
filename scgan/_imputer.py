"""``scgan.Imputer``: train once on an AnnData, impute it or new cells, save and load."""

import logging
import time
from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from pathlib import Path

import anndata as ad

from ._anndata import (
    Conditions,
    check_anndata,
    check_size,
    check_training_counts,
    counts_in_order,
    get_counts,
    warn,
    write_imputation,
    write_imputation_file,
)
from ._device import cpu_threads
from ._docs import doc_params
from ._files import staged
from ._keys import IMPUTED
from ._logging import PACKAGE_LOGGER  # noqa: F401  (log lines go where scanpy's go)
from ._signals import ends_cleanly_on_sigterm
from ._version import __version__
from .models import BACKENDS, DEFAULT_METHOD, make_backend
from .models._registry import methods_doc
from .models._state import check_replaceable, load_state, save_state

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2

# files being written are left as they were: a partial file is removed, the layers of write_to undone
_ends_cleanly = ends_cleanly_on_sigterm(
    "scgan: terminated by SIGTERM; files it was writing were left as they were"
)


@doc_params(methods=methods_doc())
class Imputer:
    """A dropout imputer that outlives one call: ``fit``, ``impute``, ``save``, ``load``.

    :func:`scgan.pp.impute_dropouts` is ``Imputer(...).fit(adata)`` followed by
    imputing the same cells. Fit once and impute new cells measured on the
    same genes (and, when used, the same cell types and batches).

    Parameters
    ----------
    {doc_data}
    {doc_training}
    {doc_settings}

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
        method: str = DEFAULT_METHOD,
        *,
        layer: str | None = None,
        labels_key: str | None = None,
        batch_key: str | None = None,
        random_state: int = 0,
        device: str = "auto",
        config=None,
        progress: bool | None = None,
        n_jobs: int | None = None,
        devices: int = 1,
        **settings,
    ):
        self.method, self.layer, self.n_jobs = method, layer, n_jobs
        self.labels_key, self.random_state = labels_key, random_state
        self.backend = make_backend(
            method,
            config=config,
            device=device,
            random_state=random_state,
            progress=progress,
            devices=devices,
            **settings,
        )
        if batch_key is not None and not self.backend.uses_batches:
            warn(f"method {method!r} does not use batches; batch_key={batch_key!r} is ignored")
            batch_key = None
        self.batch_key = batch_key
        self.fitted = False

    @_ends_cleanly
    def fit(self, adata: ad.AnnData) -> "Imputer":
        """Train on the counts of ``adata`` (not changed; it may be backed by its file)."""
        with cpu_threads(self.n_jobs):
            self._train(*self._prepare(adata, writes=False))
        return self

    @_ends_cleanly
    @doc_params()
    def fit_impute(
        self,
        adata: ad.AnnData,
        *,
        target_batch: str | None = None,
        only_zeros: bool = True,
        n_draws: int = 0,
        key_added: str = IMPUTED,
        copy: bool = False,
        write_to: str | Path | None = None,
    ) -> ad.AnnData | None:
        """Train on ``adata`` and impute the same cells; every argument is checked before training.

        Parameters
        ----------
        {doc_adata}
        {doc_output}

        Returns
        -------
        {doc_returns}
        """
        output = Output(target_batch, only_zeros, n_draws, key_added, copy, write_to)
        self._check_output(output)
        with cpu_threads(self.n_jobs):
            counts, codes = self._prepare(adata, writes=write_to is None)
            self.conditions_.target_code(target_batch)  # checked before training
            self._train(counts, codes)
            return self._write(adata, counts, codes, output)

    @_ends_cleanly
    @doc_params()
    def impute(
        self,
        adata: ad.AnnData,
        *,
        target_batch: str | None = None,
        only_zeros: bool = True,
        n_draws: int = 0,
        key_added: str = IMPUTED,
        copy: bool = False,
        write_to: str | Path | None = None,
    ) -> ad.AnnData | None:
        """Impute the cells of ``adata`` with the trained model.

        ``adata`` needs the training genes (any order; others are refused) and,
        if the model uses them, ``labels_key`` and ``batch_key`` columns with
        categories seen in training (``target_batch`` moves each cell from
        its own batch). With labels derived by clustering, each new cell
        takes the label of the nearest cluster centroid. ``"began"`` imputes
        each cell from its own counts and the training's principal
        components; at least 10 cells are imputed at a time.

        Parameters
        ----------
        adata
            Cells × the training genes, raw counts; it may be backed by its
            file when ``write_to`` is given.
        {doc_output}

        Returns
        -------
        {doc_returns}
        """
        self._check_fitted()
        check_anndata(adata, writes=write_to is None)
        output = Output(target_batch, only_zeros, n_draws, key_added, copy, write_to)
        self._check_output(output)
        counts, order = counts_in_order(adata, self.genes_, self.layer)
        check_size(counts)
        codes = None
        if self.conditions_.labels is not None:
            codes = self.conditions_.codes_for(adata, counts)
            self.conditions_.target_code(target_batch)
        with cpu_threads(self.n_jobs):
            return self._write(adata, counts, codes, output, order=order)

    @_ends_cleanly
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
    def load(
        cls, path: str | Path, *, device: str = "auto", n_jobs: int | None = None
    ) -> "Imputer":
        """Read a model written by :meth:`save`, onto ``device``, imputing with ``n_jobs`` threads."""
        state = load_state(Path(path))
        _check_format(state, path)
        config_class = BACKENDS[state["method"]].config_class
        config = config_class(**_config_values(config_class, state["config"]))
        self = cls(
            state["method"],
            layer=state["layer"],
            labels_key=state["labels_key"],
            batch_key=state["batch_key"],
            random_state=state["random_state"],
            device=device,
            config=config,
            n_jobs=n_jobs,
        )
        self.genes_ = list(state["genes"])
        self.conditions_ = Conditions(state["labels"], state["batches"], state.get("centroids"))
        self.backend.set_state(state["backend"])
        self.fitted = True
        return self

    # --- steps --------------------------------------------------------------------------------

    def _prepare(self, adata: ad.AnnData, *, writes: bool):
        """Counts and condition codes of the training cells; records genes and categories."""
        check_anndata(adata, writes=writes)
        counts = get_counts(adata, self.layer)
        check_training_counts(counts)
        self.fitted = False
        self.genes_ = [str(g) for g in adata.var_names]
        if not self.backend.takes_conditions():
            self.conditions_ = Conditions()
            return counts, None
        self.conditions_, codes = Conditions.from_training(
            adata, counts, self.labels_key, self.batch_key, self.random_state
        )
        return counts, codes

    def _train(self, counts, codes) -> None:
        start = time.perf_counter()
        logger.info("training %r on %d cells × %d genes", self.method, *counts.shape)
        self.backend.fit(counts, codes, self.conditions_.n_categories())
        self.fitted = True
        logger.info("    finished (%s)", timedelta(seconds=round(time.perf_counter() - start)))

    def _write(self, adata, counts, codes, output: "Output", order=None):
        record = {
            "method": self.method,
            "layer": "X" if self.layer is None else self.layer,
            "only_zeros": output.only_zeros,
            "n_draws": output.n_draws,
            "target_batch": output.target_batch,
            "params": self.backend.params(),
            "labels": self.conditions_.labels,
            "history": self.backend.history_,
        }
        if self.conditions_.batches is not None:
            record["batch"] = self.conditions_.batches
        if self.conditions_.labels is not None and self.conditions_.labels["derived"]:
            record["labels"] = {**self.conditions_.labels, "codes": codes[:, 0]}
        extra = {"n_draws": output.n_draws} if output.n_draws else {}
        if output.target_batch is not None:
            extra["target_batch"] = self.conditions_.target_code(output.target_batch)
        if output.write_to is not None:
            blocks = self.backend.impute_blocks(
                counts, codes, only_zeros=output.only_zeros, **extra
            )
            write_imputation_file(
                output.write_to,
                blocks,
                counts,
                only_zeros=output.only_zeros,
                key_added=output.key_added,
                record=record,
                order=order,
            )
            return None
        imputation = self.backend.impute(counts, codes, only_zeros=output.only_zeros, **extra)
        return write_imputation(
            adata,
            imputation,
            counts,
            only_zeros=output.only_zeros,
            key_added=output.key_added,
            record=record,
            copy=output.copy,
            order=order,
        )

    def _check_output(self, output: "Output") -> None:
        """Refuse what the backend cannot give, before any work is done."""
        target_batch, write_to = output.target_batch, output.write_to
        if write_to is not None:
            if output.copy:
                msg = "copy=True returns a new AnnData; with write_to the layers go to the file"
                raise ValueError(msg)
            if not Path(write_to).is_file():
                msg = f"write_to={str(write_to)!r} is not a file; write a copy of adata there first"
                raise FileNotFoundError(msg)
        if isinstance(output.n_draws, bool) or not isinstance(output.n_draws, int):
            msg = f"n_draws={output.n_draws!r} must be a whole number of draws"
            raise ValueError(msg)
        if output.n_draws < 0:
            msg = f"n_draws={output.n_draws} must not be negative"
            raise ValueError(msg)
        if output.n_draws and not self.backend.draws:
            msg = f"method {self.method!r} gives one imputation; draws (n_draws) need 'began'"
            raise ValueError(msg)
        if not output.only_zeros and not self.backend.denoises:
            msg = f"method {self.method!r} only fills zeros; denoising (only_zeros=False) needs 'began'"
            raise ValueError(msg)
        if target_batch is None:
            return
        if not self.backend.supports_target_batch:
            msg = f"method {self.method!r} does not use batches, so target_batch cannot apply; use 'began'"
        elif not self.backend.takes_conditions():
            msg = "target_batch needs a conditional model; do not pass conditional=False"
        elif self.batch_key is None:
            msg = "target_batch needs batch_key, the obs column that names the batches"
        else:
            return
        raise ValueError(msg)

    def _state(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "scgan_version": __version__,
            "method": self.method,
            "config": asdict(self.backend.config),
            "layer": self.layer,
            "labels_key": self.labels_key,
            "batch_key": self.batch_key,
            "random_state": self.random_state,
            "genes": self.genes_,
            "labels": self.conditions_.labels,
            "batches": self.conditions_.batches,
            **(
                {}
                if self.conditions_.centroids is None
                else {"centroids": self.conditions_.centroids}
            ),
            "backend": self.backend.get_state(),
        }

    def _check_fitted(self) -> None:
        if not self.fitted:
            msg = "this Imputer is not trained yet; call fit(adata) first or Imputer.load(path)"
            raise RuntimeError(msg)

    def __repr__(self) -> str:
        state = f"{len(self.genes_)} genes" if self.fitted else "not fitted"
        return f"Imputer(method={self.method!r}, {state})"


@dataclass(frozen=True)
class Output:
    """Where and what an imputation writes (the arguments of :meth:`Imputer.impute`)."""

    target_batch: str | None
    only_zeros: bool
    n_draws: int
    key_added: str
    copy: bool
    write_to: str | Path | None


def _check_format(state: dict, path) -> None:
    """Refuse, in one line, a model of another format (another scgan version's) or no model."""
    if state.get("method") not in BACKENDS:
        msg = f"{path} is not a saved scgan model (method {state.get('method')!r})"
        raise ValueError(msg)
    if state.get("format") != FORMAT_VERSION:
        saved = state.get("scgan_version", "an earlier version")
        msg = (
            f"{path} was saved by scgan {saved} (model format {state.get('format')}); scgan "
            f"{__version__} reads format {FORMAT_VERSION}: fit and save the model again with "
            f"this version, or load it with scgan {saved}"
        )
        raise ValueError(msg)


def _config_values(config_class, saved: dict) -> dict:
    """Saved config fields, with lists turned back into tuples where the default is a tuple."""
    values = {}
    for f in fields(config_class):
        if f.name in saved:
            default = getattr(config_class(), f.name)
            value = saved[f.name]
            values[f.name] = tuple(value) if isinstance(default, tuple) else value
    return values
