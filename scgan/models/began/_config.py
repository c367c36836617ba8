"""Settings of the conditional BEGAN imputer."""

from dataclasses import dataclass

from .._base import too_small


@dataclass(frozen=True)
class BEGANConfig:
    """Settings of the BEGAN imputer; every field is also a keyword of ``impute_dropouts``.

    Attributes
    ----------
    side
        Genes are cut into parts of ``side²`` (a ``side × side`` image), each
        with its own small network.
    n_repeats
        Random gene partitions whose predictions are averaged; ``"auto"``: 3
        up to 4 096 expressed genes at ``side=16`` (16 parts), 1 beyond.
    epochs
        Most epochs; the epoch with the lowest validation loss is kept.
    max_steps_per_epoch, max_part_steps_per_epoch
        An epoch is one pass over the cells, or fewer steps (of
        ``batch_size`` cells, continuing through shuffled passes): at most
        ``max_steps_per_epoch``, and at most ``max_part_steps_per_epoch``
        divided by the number of gene parts of all repeats.
    patience
        Stop after this many epochs without a lower validation loss.
    batch_size
        Cells per step.
    lr_generator, lr_discriminator, betas
        Adam settings.
    thinning
        Range of the share of a training cell's molecules the generator
        sees at a step (drawn uniformly per cell and step, and the molecules
        afresh); it is scored on predicting the rest. A range, so that G
        learns cells of many depths, its input's full depth included.
    blind_share
        Share of (cell, part) pairs trained *blind*: without the part's own
        genes, from the rest of the cell alone. Blind predictions fill the
        zeros; parts that see their genes give the denoised output.
    n_components
        Principal components of the cell given to every part as its
        whole-cell context (with the log library size); 0 gives none.
    hidden
        Width of each part's network (D uses half).
    conditional
        Condition G and D on the cell-type and batch codes given to ``fit``.
    adversary
        Weight of BEGAN's adversarial term beside the count likelihood; 0
        (the default) trains G on the likelihood alone and no D.
    gamma, lambda_k
        BEGAN's diversity ratio γ (``"auto"``: set from the ratio
        ``L(G)/L(x)`` measured over the first epoch) and the learning rate of
        ``k_t``.
    artificial_dropout, dropout_q, dropout_s
        The logit-percentile dropout applied to G's draws before D judges
        them, with its percentile and steepness (``"auto"``: calibrated on
        the data); only with an adversary.
    validation_fraction, validation_cells
        Share of molecules held out, from at most ``validation_cells``
        cells, to choose the epoch (scored after every epoch on at most 300
        of those cells) and to report how well held-out molecules are
        predicted (on all of them).
    mixed_precision
        bfloat16 autocast on CUDA (ignored on the CPU).
    """

    side: int = 16
    n_repeats: int | str = "auto"
    epochs: int = 60
    max_steps_per_epoch: int = 100
    max_part_steps_per_epoch: int = 2400
    patience: int = 6
    batch_size: int = 64
    lr_generator: float = 3e-3
    lr_discriminator: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    thinning: tuple[float, float] = (0.3, 0.9)
    blind_share: float = 0.5
    n_components: int = 30
    hidden: int = 128
    conditional: bool = True
    adversary: float = 0.0
    gamma: float | str = "auto"
    lambda_k: float = 0.01
    artificial_dropout: bool = True
    dropout_q: float | str = "auto"
    dropout_s: float | str = "auto"
    validation_fraction: float = 0.1
    validation_cells: int = 1000
    mixed_precision: bool = True

    def __post_init__(self):
        sizes = ("epochs", "max_steps_per_epoch", "max_part_steps_per_epoch", "patience")
        sizes += ("batch_size", "hidden", "validation_cells")
        problems = too_small(self, ("side",), minimum=2) + too_small(self, sizes)
        if self.n_repeats != "auto" and not (
            isinstance(self.n_repeats, int) and self.n_repeats >= 1
        ):
            problems.append(f"n_repeats={self.n_repeats!r} must be 'auto' or at least 1")
        if not 0 < self.validation_fraction < 1:
            problems.append(f"validation_fraction={self.validation_fraction} must lie in (0, 1)")
        low, high = self.thinning
        if not 0 < low <= high < 1:
            problems.append(f"thinning={self.thinning} must be a range (low, high) in (0, 1)")
        if not 0 <= self.blind_share <= 1:
            problems.append(f"blind_share={self.blind_share} must lie in [0, 1]")
        for name in ("lambda_k", "adversary", "n_components"):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)} must not be negative")
        if self.gamma != "auto" and not float(self.gamma) > 0:
            problems.append(f"gamma={self.gamma} must be 'auto' or positive")
        if self.dropout_q != "auto" and not 0 <= float(self.dropout_q) <= 100:
            problems.append(
                f"dropout_q={self.dropout_q} must be 'auto' or a percentile in [0, 100]"
            )
        if self.dropout_s != "auto" and float(self.dropout_s) <= 0:
            problems.append(f"dropout_s={self.dropout_s} must be 'auto' or positive")
        if problems:
            raise ValueError("; ".join(problems))
