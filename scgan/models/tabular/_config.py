"""Settings of the tabular GAN imputers, as frozen dataclasses.

The estimators (:class:`~scgan.models.GAINImputer`, :class:`~scgan.models.MisGANImputer`)
take the same names as keyword arguments, with these defaults; the configs
check them and carry them into ``impute_dropouts``.
"""

from dataclasses import dataclass

from .._base import too_small

HINTS = ("paper", "reference")
IMPUTER_INPUTS = ("complement", "separate")


def _problems(config, at_least_one: tuple[str, ...]) -> list[str]:
    return too_small(config, at_least_one) + [
        f"iterations={config.iterations}: must not be negative"
    ] * (config.iterations < 0)


@dataclass(frozen=True)
class GAINConfig:
    """GAIN's settings (Yoon et al. 2018); see :class:`scgan.models.GAINImputer`."""

    batch_size: int = 128
    iterations: int = 10_000
    hint_rate: float = 0.9
    hint: str = "paper"
    alpha: float = 100.0
    learning_rate: float = 1e-3
    rounding: bool = False

    def __post_init__(self):
        problems = _problems(self, ("batch_size",))
        if self.hint not in HINTS:
            problems.append(f"hint={self.hint!r}; choose one of {HINTS}")
        if not 0 <= self.hint_rate <= 1:
            problems.append(f"hint_rate={self.hint_rate} must lie in [0, 1]")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class MisGANConfig:
    """MisGAN's settings (Li et al. 2019); see :class:`scgan.models.MisGANImputer`."""

    iterations: int = 12_000
    batch_size: int = 64
    latent_dim: int = 128
    alpha: float = 0.2
    beta: float = 0.1
    gamma: float = 30.0
    imputer_input: str = "separate"
    tau: float = 0.0
    temperature: float = 0.66
    gp_weight: float = 10.0
    n_critic: int = 5
    learning_rate: float = 1e-4
    imputer_learning_rate: float = 2e-4
    n_draws: int = 1

    def __post_init__(self):
        problems = _problems(self, ("batch_size", "latent_dim", "n_critic", "n_draws"))
        if self.imputer_input not in IMPUTER_INPUTS:
            problems.append(f"imputer_input={self.imputer_input!r}; choose one of {IMPUTER_INPUTS}")
        if problems:
            raise ValueError("; ".join(problems))
