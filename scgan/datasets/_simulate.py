from dataclasses import asdict, dataclass

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from .._keys import BATCH, CELL_TYPE, SIM_PARAMS, TRUE_COUNTS

_CHUNK = 4096  # cells drawn at a time; fixed so that results do not depend on memory


@dataclass(frozen=True)
class SimulationParams:
    """Parameters of :func:`scgan.datasets.simulate` (Splatter's names in brackets).

    Library sizes are 10x-like (median about 3000) rather than Splatter's
    default (e^11), and DE, batch and dropout effects are stronger than
    Splatter's defaults, so that cell types, batches and dropouts are all
    visible in a few hundred cells.
    """

    n_cells: int = 2000
    n_genes: int = 1000
    n_cell_types: int = 4
    n_batches: int = 1
    mean_shape: float = 0.6  # gamma shape of gene means [mean.shape]
    mean_rate: float = 0.3  # gamma rate of gene means [mean.rate]
    outlier_prob: float = 0.05  # [out.prob]
    outlier_loc: float = 4.0  # [out.facLoc]
    outlier_scale: float = 0.5  # [out.facScale]
    lib_loc: float = 8.0  # log-normal library size, mean of log [lib.loc]
    lib_scale: float = 0.3  # [lib.scale]
    de_prob: float = 0.2  # [de.prob]
    de_down_prob: float = 0.5  # [de.downProb]
    de_fac_loc: float = 1.0  # [de.facLoc]
    de_fac_scale: float = 0.4  # [de.facScale]
    batch_fac_loc: float = 0.1  # [batch.facLoc]
    batch_fac_scale: float = 0.3  # [batch.facScale]
    bcv_common: float = 0.1  # [bcv.common]
    bcv_df: float = 60.0  # [bcv.df]
    dropout_mid: float = 0.5  # log mean at which half the counts drop [dropout.mid]
    dropout_steepness: float = 1.0  # positive; Splatter's dropout.shape = -steepness


def simulate(
    n_cells: int = 2000,
    n_genes: int = 1000,
    *,
    n_cell_types: int = 4,
    n_batches: int = 1,
    random_state: int = 0,
    **params: float,
) -> ad.AnnData:
    """Simulate counts with ground truth, following Splatter (Zappia et al. 2017).

    Gene means are gamma distributed (with a few high outliers); library sizes
    are log-normal; each cell type up- or down-regulates a random set of genes
    by log-normal DE factors; each batch multiplies every gene by a log-normal
    batch factor; true counts are gamma–Poisson with biological coefficient of
    variation ``(bcv_common + 1/sqrt(mean)) * sqrt(bcv_df / chi2(bcv_df))``;
    dropout removes each count with probability
    ``1 / (1 + exp(dropout_steepness * (log(mean) - dropout_mid)))``,
    so that lowly expressed entries drop more often.

    Parameters
    ----------
    n_cells, n_genes
        Shape of the count matrix.
    n_cell_types, n_batches
        Cells are assigned uniformly at random to types and batches.
    random_state
        Seed; the same seed gives the same data.
    **params
        Any other field of :class:`SimulationParams` (e.g. ``dropout_mid=2``).

    Returns
    -------
    AnnData with observed counts in ``X``, counts before dropout in
    ``layers['true_counts']``, ``obs['cell_type']``, ``obs['batch']``, the
    true library size in ``obs['true_library_size']``, and the parameters
    in ``uns['scgan_simulation']``.

    Examples
    --------
    >>> import scgan
    >>> adata = scgan.datasets.simulate(300, 200, n_batches=3, random_state=1)
    >>> adata.obs["batch"].nunique()
    3
    """
    p = SimulationParams(
        n_cells=n_cells, n_genes=n_genes, n_cell_types=n_cell_types, n_batches=n_batches, **params
    )
    _check_params(p)
    rng = np.random.default_rng(random_state)
    gene_means = _gene_means(p, rng)
    type_factors = _de_factors(p, rng)
    batch_factors = rng.lognormal(p.batch_fac_loc, p.batch_fac_scale, (p.n_batches, p.n_genes))
    if p.n_batches == 1:
        batch_factors[:] = 1.0
    bcv_gene = np.sqrt(p.bcv_df / rng.chisquare(p.bcv_df, p.n_genes))
    cell_type = rng.integers(p.n_cell_types, size=p.n_cells)
    batch = rng.integers(p.n_batches, size=p.n_cells)
    library = rng.lognormal(p.lib_loc, p.lib_scale, p.n_cells)

    observed, true = [], []
    for start in range(0, p.n_cells, _CHUNK):
        rows = slice(start, start + _CHUNK)
        base = gene_means * type_factors[cell_type[rows]] * batch_factors[batch[rows]]
        means = base / base.sum(axis=1, keepdims=True) * library[rows, None]
        bcv = (p.bcv_common + 1.0 / np.sqrt(means)) * bcv_gene
        cell_means = rng.gamma(1.0 / bcv**2, means * bcv**2)
        counts = rng.poisson(cell_means).astype(np.float32)
        log_mean = np.log(np.maximum(cell_means, 1e-300))
        drop_prob = 1.0 / (1.0 + np.exp(p.dropout_steepness * (log_mean - p.dropout_mid)))
        keep = rng.random(counts.shape) >= drop_prob
        true.append(sparse.csr_matrix(counts))
        observed.append(sparse.csr_matrix(counts * keep))

    obs = pd.DataFrame(
        {
            CELL_TYPE: pd.Categorical.from_codes(
                cell_type, [f"type_{i + 1}" for i in range(p.n_cell_types)]
            ),
            BATCH: pd.Categorical.from_codes(batch, [f"batch_{i + 1}" for i in range(p.n_batches)]),
        },
        index=[f"cell_{i}" for i in range(p.n_cells)],
    )
    true_counts = sparse.vstack(true, format="csr")
    obs["true_library_size"] = np.asarray(true_counts.sum(axis=1)).ravel()
    var = pd.DataFrame({"gene_mean": gene_means}, index=[f"gene_{j}" for j in range(p.n_genes)])
    adata = ad.AnnData(X=sparse.vstack(observed, format="csr"), obs=obs, var=var)
    adata.layers[TRUE_COUNTS] = true_counts
    adata.uns[SIM_PARAMS] = {**asdict(p), "random_state": random_state}
    return adata


def _check_params(p: SimulationParams) -> None:
    for name in ("n_cells", "n_genes", "n_cell_types", "n_batches"):
        if getattr(p, name) < 1:
            msg = f"{name} must be at least 1, got {getattr(p, name)}"
            raise ValueError(msg)
    if p.dropout_steepness <= 0:
        msg = "dropout_steepness must be positive (lower expression then drops more often)"
        raise ValueError(msg)


def _gene_means(p: SimulationParams, rng: np.random.Generator) -> np.ndarray:
    means = rng.gamma(p.mean_shape, 1.0 / p.mean_rate, p.n_genes)
    outlier = rng.random(p.n_genes) < p.outlier_prob
    means[outlier] = np.median(means) * rng.lognormal(p.outlier_loc, p.outlier_scale, outlier.sum())
    return means


def _de_factors(p: SimulationParams, rng: np.random.Generator) -> np.ndarray:
    factors = np.ones((p.n_cell_types, p.n_genes))
    if p.n_cell_types == 1:
        return factors
    for t in range(p.n_cell_types):
        de = rng.random(p.n_genes) < p.de_prob
        fold = rng.lognormal(p.de_fac_loc, p.de_fac_scale, de.sum())
        down = rng.random(de.sum()) < p.de_down_prob
        fold[down] = 1.0 / fold[down]
        factors[t, de] = fold
    return factors
