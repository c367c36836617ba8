"""The conditional BEGAN imputer as a backend: fit, impute, save, on arrays."""

import logging
import weakref
from collections.abc import Iterator

import numpy as np
import torch
from scipy import sparse

from ... import _distributed as distributed
from ..._data import LogScaler, expressed_genes, library_size, row_chunks, zero_fraction
from ..._device import SeededStream, seeded
from ..._distributed import process_threads
from ..._dropout import calibrate_quantile, fit_dropout_curve, group_mean_fill
from ..._neighbours import EXACT_CELLS, nearest_neighbours
from ..._partition import gene_partitions, resolve_repeats
from ..._train import train
from .._base import Backend, Imputation, condition_codes
from .._grouped import join_groups
from .._state import gan_weights, restore_gan
from ._config import BEGANConfig
from ._data import (
    CellImages,
    Validation,
    detection_rate,
    expressed_share,
    hold_out,
)
from ._plan import BEGANPlan, Shard, networks

logger = logging.getLogger(__name__)

CHUNK_ENTRIES = 2**21
"""Cells × genes per forward pass when predicting (at most ``MAX_CHUNK`` cells)."""
MAX_CHUNK = 1024
BLOCK_ENTRIES = 2**24
"""Cells × genes per block that :meth:`BEGANImputer.impute_blocks` yields (64 MB of float32)."""
CALIBRATION_CELLS = 10_000
"""The artificial dropout is calibrated on at most this many cells (drawn at random)."""


class BEGANImputer(Backend):
    """Conditional BEGAN imputer with an autoencoder discriminator.

    ``fit`` trains one generator/discriminator pair per gene part, for all
    parts of all repeats at once; ``impute`` returns the mean and the spread
    over repeats of the generator's output, as counts on each cell's own scale.
    """

    name = "began"
    summary = (
        "the conditional BEGAN imputer (this package's method): G sees the real cell, "
        "its cell type, batch and neighbourhood"
    )
    config_class = BEGANConfig
    uses_batches = True
    denoises = True
    supports_target_batch = True
    distributes = True

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
        self.scaler_ = LogScaler()
        self.expressed_ = expressed_genes(counts)
        scaled = self.scaler_.fit_transform(counts)
        self.n_genes_ = scaled.shape[1]
        genes = np.flatnonzero(self.expressed_)  # genes without counts stay zero, untrained
        self.dropout_ = self._dropout_params(scaled, codes, genes)
        train_values, validation = hold_out(  # from scaled, in place
            scaled, cfg.validation_fraction, cfg.validation_cells, rng
        )
        del scaled
        self.n_repeats_ = resolve_repeats(cfg.n_repeats, len(genes), cfg.side)
        self.parts_ = gene_partitions(self.n_genes_, cfg.side, self.n_repeats_, rng, genes)
        self._trained_neighbours = None  # (a weak reference would not reach spawned processes)
        images = self._images(train_values)
        if self.devices == 1:
            self._train(images, codes, validation)
        else:
            self._train_on_devices(images, codes, validation)
        if len(images.neighbours) > EXACT_CELLS:
            self._trained_neighbours = (weakref.ref(counts), images.neighbours)
        return self

    def _train(
        self, images: CellImages, codes: np.ndarray, validation: Validation, shard=None
    ) -> None:
        """Train the networks of ``images``' parts (this process's ``shard`` of them)."""
        cfg = self.config
        codes_on_device = torch.as_tensor(codes, device=self.device_)
        plan = BEGANPlan(
            cfg,
            images,
            codes_on_device,
            self.n_categories_,
            self.dropout_,
            self.scaler_.top,
            lambda G, shard: self._validation_error(G, images, codes_on_device, validation, shard),
            self.random_state,
            shard,
        )
        result = train(
            plan,
            epochs=cfg.epochs,
            device=self.device_,
            seed=self.random_state,
            progress=self.progress,
            patience=cfg.patience,
        )
        self.generator_, self.discriminator_ = plan.generator, plan.discriminator
        self.history_, self.best_epoch_ = result.history, result.best_epoch

    def _train_on_devices(
        self, images: CellImages, codes: np.ndarray, validation: Validation
    ) -> None:
        """Train with ``self.devices`` processes, each on its share of the parts (see ``Shard``)."""
        if len(self.parts_) < self.devices and self.config.batch_size < self.devices:
            msg = (
                f"devices={self.devices} split each batch of batch_size={self.config.batch_size} "
                "cells; use fewer devices or a larger batch_size"
            )
            raise ValueError(msg)
        values = images.values
        arrays = {
            "data": values.data,
            "indices": values.indices,
            "indptr": values.indptr,
            "shape": np.asarray(values.shape),
            "neighbours": images.neighbours,
            "codes": codes,
            "validation_cells": validation.cells,
            "validation_genes": validation.genes,
            "validation_values": validation.values,
        }
        threads = process_threads(torch.get_num_threads(), self.devices)
        tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}
        result = distributed.run(_train_share, self.devices, self.device_, threads, tensors, self)
        with seeded(self.device_, self.random_state):
            self._build_networks()
        self.generator_.load_state_dict(result["generator"])
        self.discriminator_.load_state_dict(result["discriminator"])
        self.history_ = {name: value.numpy() for name, value in result["history"].items()}
        best = int(result["best_epoch"])
        self.best_epoch_ = None if best < 0 else best

    def _shared_result(self, shard: Shard) -> dict | None:
        """At rank 0, the networks and history of all parts, gathered from every process."""
        mine = (self.generator_.state_dict(), self.discriminator_.state_dict(), self.history_)
        gathered = distributed.gather_to_first(mine)
        if gathered is None:
            return None
        if shard.split_rows:  # every process holds every part, with the same weights
            gathered = gathered[:1]
        generators, discriminators, histories = zip(*gathered, strict=True)
        history = {
            name: torch.from_numpy(
                np.concatenate([h[name] for h in histories], axis=1)
                if histories[0][name].ndim == 2
                else histories[0][name]
            )
            for name in histories[0]
        }
        best = -1 if self.best_epoch_ is None else self.best_epoch_
        return {
            "generator": join_groups(generators),
            "discriminator": join_groups(discriminators),
            "history": history,
            "best_epoch": torch.tensor(best),
        }

    def impute(self, counts, codes=None, *, only_zeros: bool = True) -> Imputation:
        """Mean and standard deviation over repeats of each entry's estimate, as counts.

        ``G(x)`` is the gene's value if it is expressed, weighted by the share
        of expressing cells among the cell and its ``expected_neighbors``
        nearest neighbours: with ``only_zeros`` (the writer keeps the observed
        counts) as counts, the expected count; without, on the log-normalised
        scale, the expected ``log1p`` value that analyses downstream work on
        (see :meth:`_estimate`). Genes without any count in the training data,
        and cells without any count, are returned as zeros.
        """
        mean = np.empty(counts.shape, np.float32)
        spread = np.empty(counts.shape, np.float32) if self.n_repeats_ > 1 else None
        for rows, block in self.impute_blocks(counts, codes, only_zeros=only_zeros):
            mean[rows] = block.mean
            if spread is not None:
                spread[rows] = block.spread
        return Imputation(mean, spread)

    def impute_blocks(
        self, counts, codes=None, *, only_zeros: bool = True
    ) -> Iterator[tuple[slice, Imputation]]:
        """:meth:`impute`, a block of rows (at most ``BLOCK_ENTRIES`` entries) at a time."""
        codes, _ = condition_codes(
            counts.shape[0], codes if self.config.conditional else None, self.n_categories_
        )
        scaled = self.scaler_.transform(counts)
        images = self._images(scaled, counts)
        library = library_size(counts)
        k = self.config.expected_neighbors
        rate = detection_rate(scaled)
        codes = torch.as_tensor(codes, device=self.device_)
        stream = SeededStream(self.device_, self.random_state)  # G's noise channel, if any
        for block in row_chunks(counts.shape[0], self._block_rows()):
            shape = (block.stop - block.start, counts.shape[1])
            mean = np.empty(shape, np.float32)
            spread = np.empty(shape, np.float32) if self.n_repeats_ > 1 else None
            with stream.resume():
                cells = np.arange(block.start, block.stop)
                for rows, predicted in self._predict(self.generator_, images, codes, cells):
                    share = expressed_share(scaled, images.neighbours, rows, k, rate)
                    at = rows - block.start
                    self._summarise(predicted, share, library[rows], only_zeros, at, mean, spread)
            yield block, Imputation(mean, spread)

    def _block_rows(self) -> int:
        """Rows per block of :meth:`impute_blocks`: whole prediction chunks."""
        chunk = self._chunk_rows()
        return chunk * max(1, BLOCK_ENTRIES // (chunk * self.n_genes_))

    def _chunk_rows(self) -> int:
        """Cells per forward pass when predicting."""
        return max(1, min(MAX_CHUNK, CHUNK_ENTRIES // self.n_genes_))

    def _summarise(self, predicted, share, library, only_zeros, rows, mean, spread) -> None:
        """Write the mean (and spread) over repeats of ``predicted``'s estimates into ``rows``."""
        total = np.zeros(predicted.shape[1:], np.float64)
        total_sq = np.zeros_like(total) if spread is not None else None
        for repeat in predicted:
            estimate = self._estimate(repeat, share, library, only_zeros)
            total += estimate
            if total_sq is not None:
                total_sq += estimate**2
        n = len(predicted)
        total /= n
        mean[rows] = total * self.expressed_  # genes never seen expressed stay zero
        if total_sq is not None:
            total_sq /= n
            total_sq -= total**2
            spread[rows] = np.sqrt(np.maximum(total_sq, 0.0)) * self.expressed_

    def _estimate(
        self, scaled: np.ndarray, share: np.ndarray, library: np.ndarray, only_zeros: bool
    ) -> np.ndarray:
        """One repeat's output as counts: ``share ×`` G's count, or G's log value × ``share``.

        A zero's best count guess is the expected count; a denoised profile
        scored on the log scale is best as the expected log value (lower:
        Jensen), which raised the denoising score of ``only_zeros=False`` from
        0.371 to 0.442 on pbmc68k (docs/research.md).
        """
        if only_zeros:
            return self.scaler_.inverse(scaled.astype(np.float64), library) * share
        return self.scaler_.inverse(scaled.astype(np.float64) * share, library)

    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""
        return {
            "n_categories": self.n_categories_,
            "scaler_top": self.scaler_.top,
            "expressed": self.expressed_,
            "n_genes": self.n_genes_,
            "parts": self.parts_,
            "n_repeats": self.n_repeats_,
            "dropout": self.dropout_,
            "best_epoch": self.best_epoch_,
            "history": self.history_,
            **gan_weights(self),
        }

    def set_state(self, state: dict) -> "BEGANImputer":
        """Restore what :meth:`get_state` returned, on ``self.device``."""
        self._resolve_device()
        self.n_categories_ = list(state["n_categories"])
        self.scaler_ = LogScaler()
        self.scaler_.top = float(state["scaler_top"])
        self.expressed_, self.n_genes_ = state["expressed"], int(state["n_genes"])
        self.parts_, self.dropout_ = state["parts"], tuple(state["dropout"])
        self.n_repeats_ = int(state.get("n_repeats", self.config.n_repeats))
        self.best_epoch_, self.history_ = state["best_epoch"], state["history"]
        restore_gan(self, state)
        return self

    def params(self) -> dict:
        """The settings actually used, including the dropout ``(q, s)`` chosen."""
        return {
            **super().params(),
            "dropout_q_used": self.dropout_[0],
            "dropout_s_used": self.dropout_[1],
            "best_epoch": self.best_epoch_,
            "epochs_run": len(self.history_["validation_mae"]),
            "groups": len(self.parts_),
            "n_repeats_used": self.n_repeats_,
            "parts_per_repeat": len(self.parts_) // self.n_repeats_,
            "genes_trained": int(self.expressed_.sum()),
        }

    def _build_networks(self) -> None:
        """Fresh networks of the fitted shape (for :func:`restore_gan`)."""
        self.generator_, self.discriminator_ = networks(
            self.config, len(self.parts_), self.n_categories_, self.device_
        )

    # --- data --------------------------------------------------------------------------------

    def _images(self, values: sparse.csr_matrix, counts=None) -> CellImages:
        """``values`` (of ``counts``) as gene-part images, with each cell's nearest neighbours.

        Beyond ``EXACT_CELLS`` cells, where the search is approximate anyway,
        the neighbours found in training are kept (not saved) and reused when
        the same ``counts`` are imputed: the second search took ~2 GB and
        minutes at a million cells. They were found on the values without the
        held-out entries, a tenth of the non-zeros of at most
        ``validation_cells`` cells.
        """
        cfg = self.config
        k = max(cfg.n_neighbors, cfg.expected_neighbors)
        trained = getattr(self, "_trained_neighbours", None)
        if k == 0:
            neighbours = np.zeros((values.shape[0], 0), np.int64)
        elif counts is not None and trained is not None and trained[0]() is counts:
            neighbours = trained[1]
        else:
            neighbours = nearest_neighbours(values, k, random_state=self.random_state)
        parts = torch.as_tensor(self.parts_, device=self.device_)
        return CellImages(values, neighbours, cfg.n_neighbors, parts, self.device_)

    def _dropout_params(
        self, scaled: sparse.csr_matrix, codes: np.ndarray, genes: np.ndarray
    ) -> tuple[float, float]:
        """``(q, s)`` of the artificial dropout, calibrated on the ``genes`` trained."""
        cfg = self.config
        if not cfg.artificial_dropout:
            return (float("nan"), float("nan"))
        if scaled.shape[0] > CALIBRATION_CELLS:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(scaled.shape[0], CALIBRATION_CELLS, replace=False))
            scaled, codes = scaled[rows], codes[rows]
        log_values = scaled[:, genes].astype(np.float64) * self.scaler_.top
        s = cfg.dropout_s
        if s == "auto":
            _, s = fit_dropout_curve(log_values)
        q = cfg.dropout_q
        if q == "auto":
            values, weights = group_mean_fill(log_values, codes[:, 0] if codes.shape[1] else None)
            q = calibrate_quantile(values, weights, zero_fraction(scaled), float(s))
        logger.info("artificial dropout: q=%.1f, s=%.2f", q, s)
        return float(q), float(s)

    # --- prediction --------------------------------------------------------------------------

    @torch.no_grad()
    def _predict(
        self,
        G,
        images: CellImages,
        codes: torch.Tensor,
        rows: np.ndarray | None = None,
        first_part: int = 0,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The output of generator ``G`` for ``rows`` (all cells by default), a chunk of cells at a time.

        ``G`` holds the parts of ``images``, the first being part
        ``first_part`` of all. Yields the chunk's rows and its output scattered
        back to genes, ``(repeats, cells, genes)``; zero at genes of parts ``G``
        does not hold.
        """
        G.eval()
        rows = np.arange(images.values.shape[0]) if rows is None else rows
        parts, repeats, width = images.parts, self.n_repeats_, self.n_genes_ + 1
        per_repeat = len(self.parts_) // repeats
        repeat = (torch.arange(len(parts), device=parts.device) + first_part) // per_repeat
        target = (repeat[:, None] * width + parts).reshape(1, -1)  # in (repeats × width)
        valid = parts < self.n_genes_
        for chunk in row_chunks(len(rows), self._chunk_rows()):
            cells = rows[chunk]
            x, around = images(cells)
            noise = None
            if self.config.noise:  # drawn for all parts, as one process holding them all would
                whole = torch.randn((len(cells), len(self.parts_), parts.shape[1]), device=x.device)
                noise = whole[:, first_part : first_part + len(parts)]
            y = G(x, codes[torch.as_tensor(cells, device=codes.device)], around, noise)
            y = y.float() * valid
            out = torch.zeros(len(cells), repeats * width, device=y.device)
            out.scatter_(1, target.expand(len(cells), -1), y.reshape(len(cells), -1))
            out = out.view(len(cells), repeats, width)[:, :, : self.n_genes_].transpose(0, 1)
            yield cells, out.cpu().numpy()

    def _validation_error(
        self, G, images: CellImages, codes: torch.Tensor, validation: Validation, shard: Shard
    ) -> float:
        """Mean absolute error of G's output, averaged over repeats, on the held-out entries.

        Each process predicts its share (its parts, or its cells) and the
        shares are summed: every other entry is zero, so the sum is exact.
        """
        cells = np.unique(validation.cells)
        cells = cells[shard.rows(len(cells))]
        position = np.full(images.values.shape[0], -1)
        position[cells] = np.arange(len(cells))
        predicted = np.zeros((self.n_repeats_, len(validation.cells)), np.float32)
        where = position[validation.cells]
        for chunk_cells, out in self._predict(G, images, codes, cells, shard.first):
            start = position[chunk_cells[0]]
            mine = (where >= start) & (where < start + len(chunk_cells))
            predicted[:, mine] = out[:, where[mine] - start, validation.genes[mine]]
        mean = distributed.all_sum(torch.from_numpy(predicted)).mean(dim=0)
        error = mean - torch.from_numpy(validation.values)
        return float(error.abs().mean())


def _train_share(process, arrays: dict[str, torch.Tensor], model: BEGANImputer) -> dict | None:
    """In a spawned process: train ``model``'s share of the parts; rank 0 returns them all."""
    shard = Shard.of(process.rank, process.world, len(model.parts_))
    model.device_ = process.device
    model.progress = model.progress if process.rank == 0 else False
    values = sparse.csr_matrix(
        (arrays["data"].numpy(), arrays["indices"].numpy(), arrays["indptr"].numpy()),
        shape=tuple(arrays["shape"].tolist()),
    )
    parts = torch.as_tensor(model.parts_[shard.parts], device=process.device)
    n_neighbors = model.config.n_neighbors
    images = CellImages(values, arrays["neighbours"].numpy(), n_neighbors, parts, process.device)
    validation = Validation(
        arrays["validation_cells"].numpy(),
        arrays["validation_genes"].numpy(),
        arrays["validation_values"].numpy(),
    )
    model._train(images, arrays["codes"].numpy(), validation, shard)
    return model._shared_result(shard)
