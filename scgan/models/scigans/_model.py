"""Fitting and imputing with scIGANs, on arrays: no AnnData here."""

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse

from ..._data import as_csr, dense_rows, expressed_genes
from ..._train import train
from .._base import Backend, Imputation, too_small
from .._state import gan_weights, restore_gan
from ._plan import ScIGANsPlan, networks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScIGANsConfig:
    """Settings of scIGANs; every field is also a keyword of ``impute_dropouts``.

    The defaults are those of the released code (v0.1.2) and the paper.

    Attributes
    ----------
    epochs
        Passes over the cells; the generator of the epoch with the lowest
        mean convergence measure ``M`` is kept.
    batch_size
        Cells per step.
    latent_dim
        Length of the noise vector ``z``.
    n_generated
        Cells generated per class for imputation.
    k
        Nearest generated cells whose per-gene median fills a real cell's zeros.
    lr, betas
        Adam settings of both networks.
    gamma, lambda_k
        BEGAN's diversity ratio γ and the learning rate of ``k_t``.
    """

    epochs: int = 200
    batch_size: int = 8
    latent_dim: int = 100
    n_generated: int = 200
    k: int = 10
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    gamma: float = 0.95
    lambda_k: float = 0.001

    def __post_init__(self):
        problems = too_small(self, ("epochs", "batch_size", "latent_dim", "n_generated", "k"))
        if self.batch_size == 1:
            problems.append("batch_size=1 is too small: batch normalisation needs 2 cells")
        if self.k > self.n_generated:
            problems.append(f"k={self.k} cannot exceed n_generated={self.n_generated}")
        if problems:
            raise ValueError("; ".join(problems))


class ScIGANsImputer(Backend):
    """scIGANs (Xu et al., NAR 2020) as released, with its known defects fixed.

    Each cell's raw counts, genes in input order, are divided by the cell's
    maximum and zero-padded into an ``s × s`` image, ``s = ⌈√genes⌉``. A
    noise-driven generator conditioned on the cell-type label plays BEGAN
    against an autoencoder discriminator with label channels. To impute,
    ``n_generated`` cells are generated per class; each real cell's zeros are
    replaced by the per-gene median of its ``k`` nearest generated cells of
    its own class (squared Euclidean distance over the cell's non-zero genes),
    rescaled by the cell's maximum. Observed counts never change.

    Fixes of the released code's defects:

    - the discriminator reconstructs the whole image (an autoencoder) rather
      than ending in a 1 × 1 output;
    - cells of class ``c`` are matched to generated cells of class ``c``, not
      ``c − 1``;
    - cells are generated with the networks in evaluation mode (batch-norm
      running statistics), not training mode;
    - an all-zero cell is returned as zeros, not NaN, and a gene without any
      count in the training cells stays zero (as in the other backends).

    Other departures: the image side is ``⌈√genes⌉`` with zero padding (the
    release fixes it at 124 and pads by re-sampling genes), so the layers'
    upsampling targets sizes rather than fixed factors; without labels,
    :func:`scgan.pp.impute_dropouts` derives them by Leiden clustering (the
    release: SamSPECTRAL on a t-SNE); batch labels are not used. The spread
    returned beside the imputation is the per-gene standard deviation over
    the ``k`` generated neighbours.
    """

    name = "scigans"
    summary = "scIGANs as published (Xu et al. 2020), its known defects fixed, for comparison"
    config_class = ScIGANsConfig

    def fit(self, counts, codes=None, n_categories=None) -> "ScIGANsImputer":
        """Train on ``counts`` (cells × genes); ``codes[:, 0]`` holds the cell-type labels."""
        self._resolve_device()
        counts = as_csr(counts)
        labels, self.n_classes_ = _labels(counts.shape[0], codes, n_categories)
        self.n_genes_ = counts.shape[1]
        self.expressed_ = expressed_genes(counts)
        images, _ = self._images(counts)
        plan = ScIGANsPlan(self.config, images, self.side_, labels, self.n_classes_, self.device_)
        result = train(
            plan,
            epochs=self.config.epochs,
            device=self.device_,
            seed=self.random_state,
            progress=self.progress,
        )
        self.generator_, self.discriminator_ = plan.generator, plan.discriminator
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        return self

    def impute(self, counts, codes=None, *, only_zeros: bool = True) -> Imputation:
        """Counts with zeros filled, and the spread over the generated neighbours (cells × genes).

        Observed counts are always kept (``only_zeros`` is part of the common signature).
        """
        counts = as_csr(counts)
        labels, _ = _labels(counts.shape[0], codes, [self.n_classes_])
        images, maxima = self._images(counts)
        cfg, n = self.config, self.n_genes_
        filled = np.empty(counts.shape, np.float32)
        spread = np.empty(counts.shape, np.float32)
        generator = torch.Generator(device="cpu").manual_seed(self.random_state)
        kept = maxima[:, None] * self.expressed_
        for label in np.unique(labels):
            cells = np.flatnonzero(labels == label)
            generated = self._generate(label, cfg.n_generated, generator)
            for chunk in np.array_split(cells, math.ceil(len(cells) / 512)):
                block = dense_rows(images, chunk, padding=self.side_**2 - n).astype(np.float64)
                median, std = _nearest_median(block, generated, cfg.k)
                zero = block == 0
                filled[chunk] = (np.where(zero, median, block)[:, :n]) * kept[chunk]
                spread[chunk] = (np.where(zero, std, 0.0)[:, :n]) * kept[chunk]
        empty = maxima == 0
        if empty.any():
            logger.info("%d cells without counts stay zero", int(empty.sum()))
        return Imputation(filled, spread)

    def params(self) -> dict:
        """The settings actually used."""
        return {**super().params(), "image_side": self.side_, "best_epoch": self.best_epoch_}

    @property
    def side_(self) -> int:
        """Side of the square image: ``⌈√genes⌉``."""
        return math.ceil(math.sqrt(self.n_genes_))

    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""
        return {
            "n_classes": self.n_classes_,
            "n_genes": self.n_genes_,
            "expressed": self.expressed_,
            "best_epoch": self.best_epoch_,
            "history": self.history_,
            **gan_weights(self),
        }

    def set_state(self, state: dict) -> "ScIGANsImputer":
        """Restore what :meth:`get_state` returned, on ``self.device``."""
        self._resolve_device()
        self.n_classes_, self.n_genes_ = int(state["n_classes"]), int(state["n_genes"])
        self.expressed_ = state["expressed"]
        self.best_epoch_, self.history_ = state["best_epoch"], state["history"]
        self.generator_, self.discriminator_ = restore_gan(
            state, self._networks, self.device_, self.random_state
        )
        return self

    def _networks(self) -> tuple:
        """Fresh networks of the fitted shape (for :func:`restore_gan`)."""
        return networks(self.side_, self.n_classes_, self.config.latent_dim, self.device_)

    def _images(self, counts: sparse.csr_matrix) -> tuple[sparse.csr_matrix, np.ndarray]:
        """Cells divided by their maximum (sparse, genes unpadded); and the maxima."""
        maxima = np.asarray(counts.max(axis=1).todense(), dtype=np.float64).ravel()
        scaled = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(scaled.indptr))
        scaled.data /= np.where(maxima > 0, maxima, 1.0)[rows]
        return scaled, maxima

    @torch.no_grad()
    def _generate(self, label: int, n: int, generator: torch.Generator) -> np.ndarray:
        """``n`` generated cells of class ``label`` (networks in evaluation mode), flattened."""
        G = self.generator_
        G.eval()
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device_)
        one_hot = torch.zeros(n, self.n_classes_, device=self.device_)
        one_hot[:, label] = 1.0
        return G(z, one_hot).reshape(n, -1).double().cpu().numpy()


def _labels(n_cells: int, codes, n_categories) -> tuple[np.ndarray, int]:
    """Cell-type labels from the first column of ``codes``; all one class without them."""
    if codes is None:
        return np.zeros(n_cells, np.int64), 1
    labels = np.asarray(codes, dtype=np.int64).reshape(n_cells, -1)[:, 0]
    n_classes = int(n_categories[0]) if n_categories else int(labels.max()) + 1
    if (labels < 0).any() or (labels >= n_classes).any():
        msg = f"cell-type codes must be integers in [0, {n_classes})"
        raise ValueError(msg)
    return labels, n_classes


def _nearest_median(cells: np.ndarray, generated: np.ndarray, k: int):
    """Per-gene median and standard deviation of each cell's ``k`` nearest generated cells.

    Distance: squared Euclidean over the cell's non-zero genes only.
    """
    observed = cells > 0
    distances = (
        (cells**2).sum(axis=1)[:, None]
        - 2 * cells @ generated.T
        + observed.astype(np.float64) @ (generated**2).T
    )
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
    neighbours = generated[nearest]  # (cells, k, genes)
    return np.median(neighbours, axis=1), neighbours.std(axis=1)
