"""Tools: masking, scores, baselines and the benchmark."""

from .._logging import PACKAGE_LOGGER  # noqa: F401  (log lines go where scanpy's go)
from ._baselines import BASELINES
from ._benchmark import DEFAULT_BENCHMARK, PROTOCOLS, benchmark
from ._denoising import score_denoising, split_molecules
from ._false_signal import permute_genes, score_false_signal
from ._gan_method import gan_method, gan_outputs
from ._impute_baseline import impute_baseline
from ._lisi import lisi
from ._mask import mask_nonzeros
from ._score_imputation import score_imputation
from ._score_structure import batch_asw, score_structure
from ._score_table import score_table

__all__ = [
    "BASELINES",
    "DEFAULT_BENCHMARK",
    "PROTOCOLS",
    "batch_asw",
    "benchmark",
    "gan_method",
    "gan_outputs",
    "impute_baseline",
    "lisi",
    "mask_nonzeros",
    "permute_genes",
    "score_denoising",
    "score_false_signal",
    "score_imputation",
    "score_structure",
    "score_table",
    "split_molecules",
]
