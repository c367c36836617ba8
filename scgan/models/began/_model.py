"""The conditional BEGAN imputer as a backend: fit, impute, save, on arrays."""

import logging
from collections.abc import Iterator

import numpy as np
import torch
from scipy import sparse

from ..._data import (
    as_csr,
    expressed_genes,
    library_size,
    normalise_log,
    row_chunks,
    rows_per_chunk,
    zero_fraction,
)
from ..._denoising_score import denoising_score
from ..._device import SeededStream
from .._base import Backend, Imputation, condition_codes
from .._state import gan_weights, restore_gan
from ._config import BEGANConfig
from ._data import Context, code_tensor, dense_counts, gene_shares, hold_out_molecules
from ._dropout import calibrate_quantile, fit_dropout_curve, group_mean_fill
from ._output import expected_log_count, negative_binomial_draw, predictive_spread
from ._partition import gene_partitions, resolve_repeats
from ._plan import Validation, networks, predict, read
from ._shards import Problem, train_networks, train_on_devices

logger = logging.getLogger(__name__)

CHUNK_ENTRIES = 2**21
"""Cells × genes per forward pass when predicting (at most ``MAX_CHUNK`` cells)."""
MAX_CHUNK = 1024
BLOCK_ENTRIES = 2**24
"""Cells × genes per block that :meth:`BEGANImputer.impute_blocks` yields (64 MB of float32)."""
SELECTION_CELLS = 300
"""At most this many of the validation cells are scored after every epoch to choose the epoch;
the report (``validation_``) scores them all once."""
CALIBRATION_CELLS = 10_000
"""The artificial dropout is calibrated on at most this many cells (drawn at random)."""
MIN_DISPERSION, MAX_DISPERSION = 0.01, 1e4
"""Bounds of each gene's negative binomial θ (the upper: as good as Poisson)."""
NO_SHARE = 1e-9
"""The log share given to genes without counts (never trained) and to the padding."""


class BEGANImputer(Backend):
    """Conditional BEGAN imputer: a count model per gene part, with whole-cell context.

    ``fit`` trains one network per gene part, for all parts of all repeats
    at once, to predict molecules it did not see; ``impute`` returns, per
    entry, the expected ``log1p``-normalised value of a fresh measurement of
    the cell (blind, from the rest of the cell, at zeros kept as zeros in
    the input; seeing the gene when denoising), as counts on each cell's
    own scale, and the spread of the count under the model.
    """

    name = "began"
    summary = (
        "the conditional BEGAN imputer (this package's method): a count model per gene part, "
        "trained to predict held-out molecules from the rest of the cell"
    )
    config_class = BEGANConfig
    uses_batches = True
    denoises = True
    supports_target_batch = True
    distributes = True
    draws = True

    def takes_conditions(self) -> bool:
        return self.config.conditional

    def fit(self, counts, codes=None, n_categories=None) -> "BEGANImputer":
        """Train on ``counts`` (cells × genes) with integer condition ``codes`` (cells × conditions)."""
        cfg = self.config
        self._resolve_device()
        rng = np.random.default_rng(self.random_state)
        if not cfg.conditional:
            codes, n_categories = None, None
        codes, self.n_categories_ = condition_codes(counts.shape[0], codes, n_categories)
        counts = sparse.csr_matrix(counts, dtype=np.float32)
        n_cells, self.n_genes_ = counts.shape
        self.expressed_ = expressed_genes(counts)
        cells = np.sort(rng.choice(n_cells, min(n_cells, cfg.validation_cells), replace=False))
        training, held_out = hold_out_molecules(counts, cells, cfg.validation_fraction, rng)
        if not held_out.nnz:
            msg = (
                "no molecules were held out to choose the epoch; raise validation_fraction "
                "or validation_cells"
            )
            raise ValueError(msg)
        self.n_repeats_ = resolve_repeats(cfg.n_repeats, int(self.expressed_.sum()), cfg.side)
        genes = np.flatnonzero(self.expressed_)  # genes without counts stay zero, untrained
        self.parts_ = gene_partitions(self.n_genes_, cfg.side, self.n_repeats_, rng, genes)
        self.context_ = Context.fit(training, cfg.n_components, rng, self.device_)
        shares = np.append(gene_shares(training), 0.0)
        self.log_shares_ = np.log(np.maximum(shares, NO_SHARE)).astype(np.float32)
        self.dropout_ = self._dropout_params(training, codes, genes)
        self.batch_depth_ = _batch_depths(counts, codes, self.n_categories_)
        kept = training[cells]
        every = -(-len(cells) // SELECTION_CELLS)  # every k-th validation cell chooses the epoch
        validation = Validation(
            kept[::every],
            held_out[::every],
            self._codes(codes[cells][::every]),
            cfg.validation_fraction,
        )
        self._train(training, codes, validation)
        self.validation_ = self._validation_report(kept, held_out, codes[cells])
        return self

    def _codes(self, codes: np.ndarray) -> torch.Tensor:
        return code_tensor(codes, self.device_)

    def _train(self, counts, codes, validation: Validation) -> None:
        """Train the networks, with ``self.devices`` processes (see :mod:`._shards`)."""
        problem = Problem(
            self.config,
            self.parts_,
            self.context_,
            self.log_shares_,
            self.n_categories_,
            self.dropout_,
            self.random_state,
            self.progress,
        )
        if self.devices == 1:
            trained = train_networks(problem, counts, codes, validation, self.device_)
        else:
            trained = train_on_devices(
                problem, counts, codes, validation, self.devices, self.device_
            )
        self.generator_, self.discriminator_ = trained.generator, trained.discriminator
        self.history_, self.best_epoch_ = trained.history, trained.best_epoch
        self.gamma_ = trained.gamma

    def _validation_report(self, kept, held_out, codes) -> dict:
        """How well the kept model predicts the held-out molecules, beside returning the input.

        Open Problems' denoising score of the denoised output on the
        validation cells (0: no better than the input, 1: perfect), that of
        the zero-filled output (so that a user can choose the output on
        their own data), and the likelihood loss per entry, seeing the genes
        and blind. Also sets each gene's dispersion from the same molecules.
        """
        self.dispersion_ = np.stack(
            [self._dispersion(kept, held_out, codes, seen=seen) for seen in (True, False)]
        )
        score = denoising_score(self.impute(kept, codes, only_zeros=False).mean, kept, held_out)
        filled = self.impute(kept, codes, only_zeros=True).mean
        observed = kept.tocoo()
        where = observed.data > 0
        filled[observed.row[where], observed.col[where]] = observed.data[where]
        filled = denoising_score(filled, kept, held_out)
        history, best = self.history_, self.best_epoch_
        epoch = -1 if best is None else best
        return {
            "held_out_fraction": self.config.validation_fraction,
            "cells": int(kept.shape[0]),
            "molecules": int(held_out.sum()),
            "denoising_score": score["denoising_score"],
            "denoising_mse_score": score["denoising_mse_score"],
            "denoising_poisson_score": score["denoising_poisson_score"],
            "denoising_score_zeros_filled": filled["denoising_score"],
            "loss_seen": float(history["validation_seen"][epoch]),
            "loss_blind": float(history["validation_blind"][epoch]),
        }

    def _dispersion(self, kept, held_out, codes, *, seen: bool) -> np.ndarray:
        """Each gene's negative binomial dispersion θ of held-out molecules about G's prediction.

        By moments: ``E[(y − μ)² − y] = μ² / θ`` over the validation cells,
        with ``μ`` G's expected count at the held-out depth; ``Var(y) = μ +
        μ²/θ`` then holds at any depth (a gamma-distributed rate). Between
        ``MIN_DISPERSION`` and ``MAX_DISPERSION``.
        """
        fraction = self.config.validation_fraction
        codes = self._codes(codes)
        excess, squares = np.zeros(self.n_genes_), np.zeros(self.n_genes_)
        for chunk in row_chunks(kept.shape[0], self._chunk_rows()):
            rows = np.arange(chunk.start, chunk.stop)
            means, _ = self._expected_counts(kept, rows, codes, seen=seen, theta=False)
            mu = np.exp(np.log(np.maximum(means, 1e-30)).mean(axis=0)) * fraction / (1 - fraction)
            y = held_out[rows].toarray()
            excess += ((y - mu) ** 2 - y).sum(axis=0)
            squares += (mu**2).sum(axis=0)
        inverse = excess / np.maximum(squares, 1e-12)
        return 1.0 / np.clip(inverse, 1 / MAX_DISPERSION, 1 / MIN_DISPERSION)

    def impute(self, counts, codes=None, **options) -> Imputation:
        """Each entry's estimate, its spread and draws, as counts (``options``: see :meth:`impute_blocks`)."""
        n_draws = options.get("n_draws", 0)
        shape = counts.shape
        mean = np.empty(shape, np.float32)
        spread = np.empty(shape, np.float32)
        draws = np.empty((n_draws, *shape), np.float32) if n_draws else None
        for rows, block in self.impute_blocks(counts, codes, **options):
            mean[rows], spread[rows] = block.mean, block.spread
            if draws is not None:
                draws[:, rows] = block.draws
        return Imputation(mean, spread, draws)

    def impute_blocks(
        self,
        counts,
        codes=None,
        *,
        only_zeros: bool = True,
        n_draws: int = 0,
        target_batch: int | None = None,
    ) -> Iterator[tuple[slice, Imputation]]:
        """:meth:`impute`, a block of rows (at most ``BLOCK_ENTRIES`` entries) at a time.

        Per entry, from the repeats' expected counts ``μ`` (their log mean):
        the count whose ``log1p``-normalised value is that expected of a
        Poisson measurement with mean ``μ`` at the cell's own library size;
        blind (from the rest of the cell) with ``only_zeros``, where the
        writer keeps the observed counts, and seeing every gene without.
        The spread is the standard deviation of a count under the repeats'
        negative binomials; each draw is one such count. Genes without any
        count in training, and cells without counts, are returned as zeros.

        ``target_batch`` (a batch code): each cell as if measured in that
        batch. Its rates move by G's difference between the target batch's
        code and its own (:func:`predict`), and its depth by the ratio of the
        batches' median library sizes: the expectation is taken, and draws
        drawn, at that depth (the estimate is then put back on the cell's
        own count scale; the spread and the draws stay at the target's depth).
        """
        codes, _ = condition_codes(
            counts.shape[0], codes if self.config.conditional else None, self.n_categories_
        )
        counts = as_csr(counts)
        codes = self._codes(codes)
        stream = SeededStream(self.device_, self.random_state)
        for block in row_chunks(counts.shape[0], self._block_rows()):
            shape = (block.stop - block.start, counts.shape[1])
            mean, spread = np.empty(shape, np.float32), np.empty(shape, np.float32)
            draws = np.empty((n_draws, *shape), np.float32) if n_draws else None
            for chunk in row_chunks(shape[0], self._chunk_rows()):
                rows = np.arange(block.start + chunk.start, block.start + chunk.stop)
                means, theta = self._expected_counts(
                    counts, rows, codes, seen=not only_zeros, target_batch=target_batch
                )
                library = library_size(counts[rows])
                trained = self.expressed_ * (library > 0)[:, None]  # else zeros
                log_mean = np.log(np.maximum(means, 1e-30)).mean(axis=0)
                if target_batch is None:
                    estimate = expected_log_count(np.exp(log_mean), library)
                else:  # at the target batch's depth, then back on the cell's own scale
                    ratio = self._depth_ratio(codes, rows, target_batch)[:, None]
                    estimate = expected_log_count(np.exp(log_mean) * ratio, library * ratio[:, 0])
                    estimate, means = estimate / ratio, means * ratio
                mean[chunk] = estimate * trained
                spread[chunk] = predictive_spread(means, theta) * trained
                if draws is not None:
                    with stream.resume():
                        draws[:, chunk] = self._draws(means, theta, n_draws) * trained
            yield block, Imputation(mean, spread, draws)

    def _depth_ratio(self, codes: torch.Tensor, rows: np.ndarray, target_batch: int) -> np.ndarray:
        """Per cell: the target batch's median library size over that of the cell's own batch."""
        own = codes[torch.as_tensor(rows, device=codes.device), 1].cpu().numpy()
        return self.batch_depth_[target_batch] / self.batch_depth_[own]

    @torch.no_grad()
    def _expected_counts(
        self, counts, rows, codes, *, seen: bool, theta: bool = True, target_batch=None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Each repeat's expected count for ``rows`` ``(repeats, cells, genes)``, and each gene's θ.

        With ``target_batch``, the cells as if in that batch (see :func:`predict`).
        """
        G = self.generator_
        G.eval()
        parts = torch.as_tensor(self.parts_, device=self.device_)
        x = dense_counts(counts, rows, self.device_)
        see = torch.full((len(rows), len(parts)), float(seen), device=self.device_)
        cell_codes = codes[torch.as_tensor(rows, device=codes.device)]
        target = None
        if target_batch is not None:
            target = cell_codes.clone()
            target[:, 1] = target_batch
        log_rate, library = predict(G, read(self.context_, parts, x, see), cell_codes, target)
        log_mean = log_rate.float() + torch.log(library)[:, :, None]
        dispersion = self.dispersion_[0 if seen else 1] if theta else None
        return self._by_gene(log_mean.exp(), len(rows)), dispersion

    def _by_gene(self, values: torch.Tensor, n_cells: int) -> np.ndarray:
        """Per-part values ``(cells, parts, side²)`` scattered to ``(repeats, cells, genes)``."""
        parts = torch.as_tensor(self.parts_, device=values.device)
        repeats, width = self.n_repeats_, self.n_genes_ + 1
        per_repeat = len(parts) // repeats
        repeat = torch.arange(len(parts), device=parts.device) // per_repeat
        target = (repeat[:, None] * width + parts).reshape(1, -1)
        out = torch.ones(n_cells, repeats * width, device=values.device)  # 1: untrained genes
        out.scatter_(1, target.expand(n_cells, -1), values.reshape(n_cells, -1).float())
        out = out.view(n_cells, repeats, width)[:, :, : self.n_genes_].transpose(0, 1)
        return out.cpu().numpy().astype(np.float64)

    @staticmethod
    def _draws(means: np.ndarray, theta: np.ndarray, n_draws: int) -> np.ndarray:
        """``n_draws`` counts per entry, each from a repeat's negative binomial (in turn)."""
        out = []
        for d in range(n_draws):
            r = d % len(means)
            mean = torch.from_numpy(means[r])
            dispersion = torch.from_numpy(np.broadcast_to(theta, mean.shape).copy())
            out.append(negative_binomial_draw(mean, dispersion).numpy())
        return np.stack(out)

    def _block_rows(self) -> int:
        """Rows per block of :meth:`impute_blocks`: whole prediction chunks."""
        chunk = self._chunk_rows()
        return chunk * rows_per_chunk(chunk * self.n_genes_, BLOCK_ENTRIES)

    def _chunk_rows(self) -> int:
        """Cells per forward pass when predicting."""
        return rows_per_chunk(self.n_genes_ * self.n_repeats_, CHUNK_ENTRIES, MAX_CHUNK)

    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""
        return {
            "n_categories": self.n_categories_,
            "expressed": self.expressed_,
            "n_genes": self.n_genes_,
            "parts": self.parts_,
            "n_repeats": self.n_repeats_,
            "log_shares": self.log_shares_,
            "context": {
                "loadings": self.context_.loadings.cpu(),
                "centre": self.context_.centre.cpu(),
                "log_library": self.context_.log_library,
            },
            "dropout": self.dropout_,
            "gamma": self.gamma_,
            "dispersion": self.dispersion_,
            "batch_depth": self.batch_depth_,
            "best_epoch": self.best_epoch_,
            "history": self.history_,
            "validation": self.validation_,
            **gan_weights(self),
        }

    def set_state(self, state: dict) -> "BEGANImputer":
        """Restore what :meth:`get_state` returned, on ``self.device``."""
        self._resolve_device()
        self.n_categories_ = list(state["n_categories"])
        self.expressed_, self.n_genes_ = state["expressed"], int(state["n_genes"])
        self.parts_, self.n_repeats_ = state["parts"], int(state["n_repeats"])
        self.log_shares_ = state["log_shares"]
        context = state["context"]
        self.context_ = Context(
            context["loadings"].to(self.device_),
            context["centre"].to(self.device_),
            float(context["log_library"]),
        )
        self.dropout_, self.gamma_ = tuple(state["dropout"]), state["gamma"]
        self.dispersion_, self.batch_depth_ = state["dispersion"], state["batch_depth"]
        self.best_epoch_, self.history_ = state["best_epoch"], state["history"]
        self.validation_ = state["validation"]
        self.generator_, self.discriminator_ = restore_gan(
            state, self._networks, self.device_, self.random_state
        )
        return self

    def params(self) -> dict:
        """The settings actually used, the epoch kept and the validation report."""
        return {
            **super().params(),
            "dropout_q_used": self.dropout_[0],
            "dropout_s_used": self.dropout_[1],
            "gamma_used": self.gamma_,
            "best_epoch": self.best_epoch_,
            "epochs_run": len(self.history_["validation_loss"]),
            "groups": len(self.parts_),
            "n_repeats_used": self.n_repeats_,
            "parts_per_repeat": len(self.parts_) // self.n_repeats_,
            "genes_trained": int(self.expressed_.sum()),
            "validation": self.validation_,
        }

    def _networks(self) -> tuple:
        """Fresh networks of the fitted shape (for :func:`restore_gan`)."""
        return networks(
            self.config, len(self.parts_), self.n_categories_, self.context_.size, self.device_
        )

    def _dropout_params(
        self, counts: sparse.csr_matrix, codes: np.ndarray, genes: np.ndarray
    ) -> tuple[float, float]:
        """``(q, s)`` of the artificial dropout, calibrated on the ``genes`` trained (with a game)."""
        cfg = self.config
        if not (cfg.adversary and cfg.artificial_dropout):
            return (float("nan"), float("nan"))
        if counts.shape[0] > CALIBRATION_CELLS:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(counts.shape[0], CALIBRATION_CELLS, replace=False))
            counts, codes = counts[rows], codes[rows]
        log_values = normalise_log(counts[:, genes])
        s = cfg.dropout_s
        if s == "auto":
            _, s = fit_dropout_curve(log_values)
        q = cfg.dropout_q
        if q == "auto":
            values, weights = group_mean_fill(log_values, codes[:, 0] if codes.shape[1] else None)
            q = calibrate_quantile(values, weights, zero_fraction(counts[:, genes]), float(s))
        logger.info("artificial dropout: q=%.1f, s=%.2f", q, s)
        return float(q), float(s)


def _batch_depths(counts, codes: np.ndarray, n_categories: list[int]) -> np.ndarray:
    """The median library size of each batch (the codes' second column); empty without batches."""
    if codes.shape[1] < 2:
        return np.zeros(0)
    library, batches = library_size(counts), codes[:, 1]
    medians = [np.median(library[batches == b]) for b in range(n_categories[1])]
    return np.nan_to_num(np.array(medians), nan=1.0)  # a batch without cells: no change
