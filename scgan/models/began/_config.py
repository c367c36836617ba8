"""Settings of the conditional BEGAN imputer."""

from dataclasses import dataclass

from .._base import too_small


@dataclass(frozen=True)
class BEGANConfig:
    """Settings of the BEGAN imputer; every field is also a keyword of ``impute_dropouts``.

    Attributes
    ----------
    side
        Genes are cut into parts of ``side²`` (a ``side × side`` image).
    n_repeats
        Random gene partitions whose imputations are averaged (their spread
        is written as ``_std``); ``"auto"``: 3 up to 4 096 expressed genes at
        ``side=16`` (16 parts), 1 beyond, where time grows with the genes and
        one repeat scored like three.
    epochs
        Most epochs; the epoch with the lowest validation error is kept.
    max_steps_per_epoch, max_part_steps_per_epoch
        An epoch is one pass over the cells, or fewer steps (of
        ``batch_size`` cells, continuing through shuffled passes): at most
        ``max_steps_per_epoch``, and at most ``max_part_steps_per_epoch``
        divided by the number of gene parts of all repeats. So the time of an
        epoch stops growing with the cells and with the genes; the epoch kept
        is still chosen by validation. On 3 000 simulated cells × 20 000
        genes, 30-step epochs kept the validation error and dropout-entry
        Pearson of 93-step ones (0.406) in fewer steps (docs/sizes.md).
    patience
        Stop after this many epochs without a lower validation error.
    batch_size
        Cells per step.
    lr_generator, lr_discriminator, betas
        Adam settings.
    gamma, lambda_k
        BEGAN's diversity ratio γ and the learning rate of ``k_t``.
    alpha
        Weight of the reconstruction term on observed entries.
    adversary
        Size of the adversarial gradient on G's output, as a share of the
        reconstruction gradient's norm (per gene part); 0 trains G on the
        reconstruction term alone and D not at all (faster). Unscaled, as
        BEGAN adds it, the adversarial gradient was 2–4 % of the
        reconstruction gradient and changed no score.
    reconstruction
        Its error: ``"l2"`` (squared, the default: it targets the mean, which
        scored higher in the benchmark) or ``"l1"`` (absolute error).
        Values are ``log1p`` scaled to [0, 1], so squared errors are small and
        the default ``alpha`` is large. The epoch is chosen by validation MAE
        either way.
    mask_rate
        Share of observed non-zero entries hidden from the generator's input at
        each step (masked-autoencoder style); the reconstruction term covers them.
    dropout_q, dropout_s
        Percentile and (positive) steepness of the artificial dropout, or
        ``"auto"`` to calibrate them on the data; ``artificial_dropout=False``
        switches the operator off. The dropout acts on ``log1p`` of
        library-normalised values (1e4), the scale the model works on.
    conditional
        Condition G and D on the cell-type and batch codes given to ``fit``.
    n_neighbors
        Give G the mean image of each cell's ``n_neighbors`` nearest other
        cells (PCA of at most the 2 000 most variable genes) as an extra
        input channel; 0 switches it off.
    expected_neighbors
        Weight G's value (the gene's value if it is expressed) by the share
        of expressing cells among the cell and its ``expected_neighbors``
        nearest other cells (plus one pseudo-cell at the gene's detection
        rate, so no share is zero): the expected count for zero filling, the
        expected ``log1p`` value when denoising. 0 uses G's value as if every
        gene were expressed.
    channels, hidden
        Convolution channels and bottleneck width of G (D uses half the bottleneck).
    noise
        Add a noise channel to G's input.
    validation_fraction, validation_cells
        Share of observed non-zeros, among at most ``validation_cells`` cells,
        held out from training to choose the epoch.
    mixed_precision
        bfloat16 autocast on CUDA (ignored on the CPU).
    """

    side: int = 16
    n_repeats: int | str = "auto"
    epochs: int = 12
    max_steps_per_epoch: int = 100
    max_part_steps_per_epoch: int = 2400
    patience: int = 4
    batch_size: int = 32
    lr_generator: float = 1e-3
    lr_discriminator: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    gamma: float = 0.95
    lambda_k: float = 0.001
    alpha: float = 1000.0
    adversary: float = 0.3
    reconstruction: str = "l2"
    mask_rate: float = 0.2
    artificial_dropout: bool = True
    dropout_q: float | str = "auto"
    dropout_s: float | str = "auto"
    conditional: bool = True
    n_neighbors: int = 15
    expected_neighbors: int = 50
    channels: int = 4
    hidden: int = 128
    noise: bool = False
    validation_fraction: float = 0.1
    validation_cells: int = 2000
    mixed_precision: bool = True

    def __post_init__(self):
        sizes = ("epochs", "max_steps_per_epoch", "max_part_steps_per_epoch", "patience")
        sizes += ("batch_size", "channels", "hidden")
        problems = too_small(self, ("side",), minimum=2) + too_small(
            self, (*sizes, "validation_cells")
        )
        if self.n_repeats != "auto" and not (
            isinstance(self.n_repeats, int) and self.n_repeats >= 1
        ):
            problems.append(f"n_repeats={self.n_repeats!r} must be 'auto' or at least 1")
        if not 0 < self.validation_fraction < 1:
            problems.append(f"validation_fraction={self.validation_fraction} must lie in (0, 1)")
        for name in (
            "gamma",
            "lambda_k",
            "alpha",
            "adversary",
            "n_neighbors",
            "expected_neighbors",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)} must not be negative")
        if self.reconstruction not in ("l1", "l2"):
            problems.append(f"reconstruction={self.reconstruction!r} must be 'l1' or 'l2'")
        if not 0 <= self.mask_rate < 1:
            problems.append(f"mask_rate={self.mask_rate} must lie in [0, 1)")
        if self.dropout_q != "auto" and not 0 <= float(self.dropout_q) <= 100:
            problems.append(
                f"dropout_q={self.dropout_q} must be 'auto' or a percentile in [0, 100]"
            )
        if self.dropout_s != "auto" and float(self.dropout_s) <= 0:
            problems.append(f"dropout_s={self.dropout_s} must be 'auto' or positive")
        if problems:
            raise ValueError("; ".join(problems))
