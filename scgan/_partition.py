"""Random gene partitions: each repeat cuts a fresh permutation of the genes into image-sized parts."""

import numpy as np


def n_parts(n_genes: int, side: int) -> int:
    """Parts of ``side²`` genes needed to hold ``n_genes`` genes."""
    return -(-n_genes // (side * side))


def gene_partitions(
    n_genes: int, side: int, n_repeats: int, rng: np.random.Generator
) -> np.ndarray:
    """Gene indices of every part of every repeat, shape ``(n_repeats * n_parts, side²)``.

    Each repeat permutes the genes, splits them into ``n_parts`` nearly equal
    chunks and pads each chunk to ``side²`` with the index ``n_genes`` (a
    padding column of zeros). Rows ``r * n_parts`` to ``(r + 1) * n_parts``
    belong to repeat ``r``; within a repeat every gene appears exactly once.
    """
    if side < 2:
        msg = f"side must be at least 2, got {side}"
        raise ValueError(msg)
    size, parts = side * side, n_parts(n_genes, side)
    rows = []
    for _ in range(n_repeats):
        for chunk in np.array_split(rng.permutation(n_genes), parts):
            rows.append(np.concatenate([chunk, np.full(size - len(chunk), n_genes)]))
    return np.stack(rows).astype(np.int64)
