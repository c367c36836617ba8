"""The one place scgan reads and writes an AnnData; it imports no model.

``_read``: raw counts (kept sparse) and their checks, genes of new cells in
training order; ``_conditions``: cell types and batches as integer codes
(derived by clustering when none are given); ``_write``: the imputation as
float32 layers and a record in ``uns``, saying what it added.
"""

from ._conditions import Conditions
from ._read import (
    check_anndata,
    check_size,
    check_training_counts,
    counts_in_order,
    get_counts,
    layer_of,
    obs_column,
    warn,
)
from ._write import write_imputation, write_imputation_file

__all__ = [
    "Conditions",
    "check_anndata",
    "check_size",
    "check_training_counts",
    "counts_in_order",
    "get_counts",
    "layer_of",
    "obs_column",
    "warn",
    "write_imputation",
    "write_imputation_file",
]
