"""Random gene partitions: each repeat cuts a fresh permutation of the genes into image-sized parts."""

import numpy as np

AUTO_REPEATS_PARTS = 16
"""``n_repeats="auto"``: 3 repeats up to this many parts per repeat, 1 beyond."""


def n_parts(n_genes: int, side: int) -> int:
    """Parts of ``side²`` genes needed to hold ``n_genes`` genes."""
    return -(-n_genes // (side * side))


def resolve_repeats(n_repeats: int | str, n_genes: int, side: int) -> int:
    """``n_repeats``, with ``"auto"`` as 3 up to ``AUTO_REPEATS_PARTS`` parts and 1 beyond.

    Training time grows with the number of parts of all repeats; where the
    genes already fill many parts, one repeat scored like three (docs/benchmarks.md).
    """
    if n_repeats != "auto":
        return int(n_repeats)
    return 3 if n_parts(n_genes, side) <= AUTO_REPEATS_PARTS else 1


def gene_partitions(
    n_genes: int,
    side: int,
    n_repeats: int,
    rng: np.random.Generator,
    genes: np.ndarray | None = None,
) -> np.ndarray:
    """Gene indices of every part of every repeat, shape ``(n_repeats * n_parts, side²)``.

    Each repeat permutes ``genes`` (all ``n_genes`` by default), splits them
    into ``n_parts`` nearly equal chunks and pads each chunk to ``side²``
    with the index ``n_genes`` (a padding column of zeros). Rows
    ``r * n_parts`` to ``(r + 1) * n_parts`` belong to repeat ``r``; within
    a repeat every gene of ``genes`` appears exactly once.
    """
    if side < 2:
        msg = f"side must be at least 2, got {side}"
        raise ValueError(msg)
    genes = np.arange(n_genes) if genes is None else np.asarray(genes)
    size, parts = side * side, n_parts(len(genes), side)
    rows = []
    for _ in range(n_repeats):
        for chunk in np.array_split(rng.permutation(genes), parts):
            rows.append(np.concatenate([chunk, np.full(size - len(chunk), n_genes)]))
    return np.stack(rows).astype(np.int64)
