import anndata as ad
import numpy as np

from .._anndata import get_counts, layer_of
from .._data import as_csr
from .._denoising_score import denoising_score
from .._keys import TEST_COUNTS


def split_molecules(
    adata: ad.AnnData,
    *,
    train_fraction: float = 0.9,
    random_state: int = 0,
    layer: str | None = None,
) -> ad.AnnData:
    """Split every count into a training part and a test part (molecular cross-validation).

    Each count ``c`` becomes ``train ~ Binomial(c, train_fraction)`` and
    ``test = c - train`` (Batson et al. 2019), as Open Problems' denoising
    task does; genes with no training count are dropped, as there. A method
    sees ``X`` only; :func:`scgan.tl.score_denoising` scores its output
    against the test part. ``adata`` is left as it is.

    Parameters
    ----------
    adata
        Cells × genes with raw (integer) counts.
    train_fraction
        Expected share of each count that goes to the training part, in (0, 1).
    random_state
        Seed of the split.
    layer
        Read counts from ``adata.layers[layer]`` instead of ``X``.

    Returns
    -------
    A new AnnData (``obs`` copied, ``var`` of the kept genes) with the
    training counts in ``X`` and the test counts in ``layers['test_counts']``
    (both CSR, float32).

    Examples
    --------
    >>> import scgan
    >>> split = scgan.tl.split_molecules(scgan.datasets.pbmc68k(), random_state=0)
    >>> split.shape, list(split.layers)
    ((700, 765), ['test_counts'])
    """
    if not 0 < train_fraction < 1:
        msg = f"train_fraction must lie strictly between 0 and 1, got {train_fraction}"
        raise ValueError(msg)
    counts = get_counts(adata, layer)
    integers = np.rint(counts.data)  # get_counts refused non-integers
    train = counts.copy()
    rng = np.random.default_rng(random_state)
    train.data = rng.binomial(integers.astype(np.int64), train_fraction).astype(np.float32)
    test = counts.copy()
    test.data = (integers - train.data).astype(np.float32)
    kept = np.asarray(train.sum(axis=0)).ravel() > 0
    split = ad.AnnData(
        X=as_csr(train[:, kept]), obs=adata.obs.copy(), var=adata.var.loc[kept, []].copy()
    )
    split.layers[TEST_COUNTS] = as_csr(test[:, kept])
    return split


def score_denoising(
    adata: ad.AnnData, *, layer: str, test_layer: str = TEST_COUNTS
) -> dict[str, float]:
    """Score a denoised output on held-out molecules, as Open Problems' denoising task does.

    ``adata`` comes from :func:`scgan.tl.split_molecules`: the method saw the
    training counts in ``X``; ``layers[layer]`` holds its output. Two losses
    against the test counts:

    - ``denoising_mse``: mean squared error between ``log1p`` of the test
      counts and of the output, each normalised to 10 000 per cell;
    - ``denoising_poisson``: mean Poisson loss ``d - test * log(d + 1e-6)``
      with ``d = output * sum(test) / sum(train)``.

    Each is scaled so that returning the training counts scores 0 and
    returning the test counts scores 1 (``*_score``; higher is better);
    ``denoising_score`` is the mean of the two scaled scores.

    Returns
    -------
    Metric name → value.
    """
    hint = "split with scgan.tl.split_molecules and impute first"
    output, test = (layer_of(adata, key, hint) for key in (layer, test_layer))
    return denoising_score(output, adata.X, test)
