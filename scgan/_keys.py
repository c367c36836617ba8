"""Names of the keys scgan reads and writes in an AnnData."""

IMPUTED = "scgan_imputed"
"""Default name of the imputed layer (and ``_std`` layer, ``uns`` entry) scgan writes."""

MASK_KEY = "scgan_mask"
"""`.uns` key where :func:`scgan.tl.mask_nonzeros` records the hidden entries."""

TRUE_COUNTS = "true_counts"
"""Layer with the simulator's counts before dropout."""

TEST_COUNTS = "test_counts"
"""Layer with the held-out molecules written by :func:`scgan.tl.split_molecules`."""

SIM_PARAMS = "scgan_simulation"
"""`.uns` key with the simulator's parameters."""

CELL_TYPE = "cell_type"
BATCH = "batch"
