"""Cell types and batches as integer codes (cell types derived by clustering when none are given)."""

import logging
from dataclasses import dataclass

import anndata as ad
import numpy as np

from .._cluster import leiden, pca_embedding
from .._data import normalise_log, row_chunks
from .._neighbours import EXACT_CELLS
from ._read import obs_column

logger = logging.getLogger(__name__)

LABEL_CELLS = EXACT_CELLS
"""Derived labels cluster at most this many training cells, on exact neighbours; the others
take the nearest cluster centroid's label."""
PLACE_ROWS = 65_536
"""Cells placed by nearest centroid at a time."""


@dataclass
class Conditions:
    """Where the cell types and batches come from, and their categories (saved with a model)."""

    labels: dict | None = None
    """``{"key", "derived", "categories"}``, or ``None`` for a backend without labels."""
    batches: dict | None = None
    """``{"key", "categories"}``, or ``None`` without batches."""
    centroids: np.ndarray | None = None
    """Mean log-normalised profile of each derived label, to label new cells."""

    def n_categories(self) -> list[int] | None:
        if self.labels is None:
            return None
        sizes = [len(self.labels["categories"])]
        return sizes + ([len(self.batches["categories"])] if self.batches else [])

    @classmethod
    def from_training(
        cls, adata, counts, labels_key: str | None, batch_key: str | None, random_state: int
    ) -> tuple["Conditions", np.ndarray]:
        """The conditions of the training cells, and their codes (cells × conditions)."""
        if labels_key is not None:
            label_codes, names = _categories(adata, labels_key, "labels_key")
            found = cls({"key": labels_key, "derived": False, "categories": names})
        else:
            label_codes, names, centroids = derive_labels(counts, random_state)
            found = cls({"key": None, "derived": True, "categories": names}, None, centroids)
        columns = [label_codes]
        if batch_key is not None:
            batch_codes, batch_names = _categories(adata, batch_key, "batch_key")
            columns.append(batch_codes)
            found.batches = {"key": batch_key, "categories": batch_names}
        return found, np.stack(columns, axis=1).astype(np.int64)

    def codes_for(self, adata, counts) -> np.ndarray:
        """Codes of new cells by the training categories."""
        if self.labels["derived"]:
            columns = [nearest_centroid(counts, self.centroids)]
        else:
            columns = [_codes_in(adata, self.labels["key"], self.labels["categories"])]
        if self.batches is not None:
            columns.append(_codes_in(adata, self.batches["key"], self.batches["categories"]))
        return np.stack(columns, axis=1)

    def target_code(self, target_batch: str | None) -> int | None:
        """The code of ``target_batch`` among the training batches (``None`` stays ``None``)."""
        if target_batch is None:
            return None
        names = self.batches["categories"]
        if str(target_batch) not in names:
            msg = f"target_batch {target_batch!r} is not a batch in the data; batches: {names}"
            raise ValueError(msg)
        return names.index(str(target_batch))


def derive_labels(counts, random_state: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Leiden clusters of the PCA of log-normalised counts: codes, names and centroids.

    Beyond ``LABEL_CELLS`` cells, ``LABEL_CELLS`` drawn at random (by
    ``random_state``) are clustered, on exact neighbours, and every other
    cell takes the label of the nearest centroid, as new cells do.
    """
    n_cells = counts.shape[0]
    sample = None
    if n_cells > LABEL_CELLS:
        rng = np.random.default_rng(random_state)
        sample = np.sort(rng.choice(n_cells, LABEL_CELLS, replace=False))
    log_values = normalise_log(counts if sample is None else counts[sample])
    clusters = leiden(
        pca_embedding(log_values, random_state=random_state), random_state=random_state
    )
    names, codes = np.unique(clusters, return_inverse=True)
    centroids = np.stack(
        [np.asarray(log_values[codes == c].mean(axis=0)).ravel() for c in range(len(names))]
    )
    if sample is not None:
        sample_codes = codes
        codes = nearest_centroid(counts, centroids)
        codes[sample] = sample_codes
        logger.info(
            "clustered %d cells drawn at random; the others by nearest centroid", LABEL_CELLS
        )
    logger.info("no labels_key: derived %d labels by Leiden clustering", len(names))
    return codes, [str(n) for n in names], centroids


def nearest_centroid(counts, centroids: np.ndarray) -> np.ndarray:
    """Index of the centroid nearest to each cell's log-normalised profile (``PLACE_ROWS`` at a time)."""
    chunks = row_chunks(counts.shape[0], PLACE_ROWS)
    return np.concatenate(
        [np.empty(0, np.int64)] + [_nearest(counts[r], centroids) for r in chunks]
    )


def _nearest(counts, centroids: np.ndarray) -> np.ndarray:
    log_values = normalise_log(counts)
    distances = (
        np.asarray(log_values.multiply(log_values).sum(axis=1))
        - 2 * (log_values @ centroids.T)
        + (centroids**2).sum(1)[None, :]
    )
    return distances.argmin(axis=1)


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
