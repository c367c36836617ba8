"""Fitting and imputing with the conditional BEGAN (SPEC §2), on arrays: no AnnData here."""

import logging
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from scipy import sparse

from ..._data import LogScaler, expressed_genes, library_size
from ..._device import autocast, resolve_device, seeded
from ..._dropout import apply_dropout, calibrate_quantile, fit_dropout_curve
from ..._neighbours import nearest_neighbours, neighbour_mean
from ..._partition import gene_partitions, n_parts
from ..._train import optimizer_step, progress_bar, train_with_validation
from .._state import gan_weights, restore_gan
from ._module import BEGANLosses, Discriminator, Generator

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BEGANConfig:
    """Settings of the BEGAN imputer; every field is also a keyword of ``impute_dropouts``.

    Attributes
    ----------
    side
        Genes are cut into parts of ``side²`` (a ``side × side`` image).
    n_repeats
        Random gene partitions whose imputations are averaged.
    epochs
        Most passes over the cells; the epoch with the lowest validation error is kept.
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
    reconstruction
        Its error: ``"l2"`` (squared, the default: it targets the mean, which
        scored higher in the benchmark) or ``"l1"`` (absolute, SPEC §2's form).
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
        cells (PCA space, all genes) as an extra input channel; 0 switches
        it off.
    expected_neighbors
        Impute a zero as its expected count: G's value times the share of the
        cell's ``expected_neighbors`` nearest other cells that express the
        gene. 0 imputes G's value as if the gene were expressed.
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
    n_repeats: int = 3
    epochs: int = 12
    patience: int = 4
    batch_size: int = 32
    lr_generator: float = 1e-3
    lr_discriminator: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    gamma: float = 0.95
    lambda_k: float = 0.001
    alpha: float = 1000.0
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
        problems = []
        sizes = (
            "side",
            "n_repeats",
            "epochs",
            "batch_size",
            "channels",
            "hidden",
            "validation_cells",
        )
        for name in sizes:
            if getattr(self, name) < (2 if name == "side" else 1):
                problems.append(f"{name}={getattr(self, name)} is too small")
        if self.patience < 1:
            problems.append(f"patience={self.patience} must be at least 1")
        if not 0 < self.validation_fraction < 1:
            problems.append(f"validation_fraction={self.validation_fraction} must lie in (0, 1)")
        for name in ("gamma", "lambda_k", "alpha", "n_neighbors", "expected_neighbors"):
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


@dataclass
class _Data:
    """Scaled training data on the device, with a padding column of zeros at the end."""

    values: torch.Tensor  # (cells, genes + 1), training input (validation entries zeroed)
    around: torch.Tensor  # (cells, genes + 1), neighbourhood means of ``values`` (or empty)
    codes: torch.Tensor  # (cells, n_conditions) int64
    parts: torch.Tensor  # (groups, side²) gene indices, n_genes = padding
    valid: torch.Tensor  # (groups, side²) bool, False at padding
    val_cells: torch.Tensor
    val_genes: torch.Tensor
    val_values: torch.Tensor


@dataclass
class BEGANImputer:
    """Conditional BEGAN imputer with an autoencoder discriminator (SPEC §2).

    ``fit`` trains one generator/discriminator pair per gene part, for all
    parts of all repeats at once; ``impute`` returns the mean and the spread
    over repeats of the generator's output, as counts on each cell's own scale.
    """

    config: BEGANConfig = field(default_factory=BEGANConfig)
    device: str = "auto"
    random_state: int = 0
    progress: bool | None = None

    def fit(
        self,
        counts: sparse.spmatrix | np.ndarray,
        codes: np.ndarray | None = None,
        n_categories: list[int] | None = None,
    ) -> "BEGANImputer":
        """Train on ``counts`` (cells × genes) with integer condition ``codes`` (cells × conditions)."""
        self.device_ = resolve_device(self.device)
        with seeded(self.device_, self.random_state):
            return self._fit(counts, codes, n_categories)

    def _fit(self, counts, codes, n_categories) -> "BEGANImputer":
        cfg = self.config
        rng = np.random.default_rng(self.random_state)
        codes, self.n_categories_ = _condition_codes(
            counts.shape[0], codes, n_categories, cfg.conditional
        )
        self.scaler_ = LogScaler().fit(counts)
        self.expressed_ = expressed_genes(counts)
        scaled = self.scaler_.transform(counts).astype(np.float32)
        self.n_genes_ = scaled.shape[1]
        data = self._prepare(scaled, codes, rng)
        self.parts_ = data.parts.cpu().numpy()
        self.dropout_ = self._dropout_params(scaled, codes)
        self._build_networks()
        self._train(data)
        return self

    def _build_networks(self) -> None:
        cfg = self.config
        groups = self.parts_.shape[0]
        self.generator_ = Generator(
            groups,
            cfg.side,
            self.n_categories_,
            cfg.channels,
            cfg.hidden,
            noise=cfg.noise,
            neighbourhood=cfg.n_neighbors > 0,
        ).to(self.device_)
        self.discriminator_ = Discriminator(
            groups, cfg.side, self.n_categories_, cfg.channels, cfg.hidden // 2
        ).to(self.device_)

    def get_state(self) -> dict:
        """The fitted state as plain values, arrays and weights (see ``models._state``)."""
        return {
            "n_categories": self.n_categories_,
            "scaler_top": self.scaler_.top,
            "expressed": self.expressed_,
            "n_genes": self.n_genes_,
            "parts": self.parts_,
            "dropout": self.dropout_,
            "best_epoch": self.best_epoch_,
            "history": self.history_,
            **gan_weights(self),
        }

    def set_state(self, state: dict) -> "BEGANImputer":
        """Restore what :meth:`get_state` returned, on ``self.device``."""
        self.device_ = resolve_device(self.device)
        self.n_categories_ = list(state["n_categories"])
        self.scaler_ = LogScaler()
        self.scaler_.top = float(state["scaler_top"])
        self.expressed_, self.n_genes_ = state["expressed"], int(state["n_genes"])
        self.parts_, self.dropout_ = state["parts"], tuple(state["dropout"])
        self.best_epoch_, self.history_ = state["best_epoch"], state["history"]
        restore_gan(self, state)
        return self

    def impute(
        self, counts, codes: np.ndarray | None = None, *, only_zeros: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over repeats of ``G(x)``, as counts (cells × genes).

        With ``only_zeros``, both are scaled at zeros by the share of neighbours
        expressing the gene (``expected_neighbors``), so that a zero is imputed
        as its expected count; without it, ``G(x)`` is returned everywhere.
        Genes without any count in the training data, and cells without any
        count, are returned as zeros.
        """
        codes, _ = _condition_codes(
            counts.shape[0], codes, self.n_categories_, self.config.conditional
        )
        scaled = self.scaler_.transform(counts).astype(np.float32)
        neighbours = self._neighbours(scaled)
        library = library_size(counts)
        total = np.zeros(scaled.shape)
        total_sq = np.zeros(scaled.shape)
        for repeat in self._predict_repeats(scaled, codes, neighbours):
            as_counts = self.scaler_.inverse(repeat, library)
            total += as_counts
            total_sq += as_counts**2
        n = self.config.n_repeats
        mean = total / n * self.expressed_  # genes never seen expressed stay zero
        std = np.sqrt(np.maximum(total_sq / n - (total / n) ** 2, 0.0)) * self.expressed_
        if not only_zeros:
            return mean, std
        share = self._expressed_share(scaled, neighbours)
        return mean * share, std * share

    def params(self) -> dict:
        """The settings actually used, including the dropout ``(q, s)`` chosen."""
        return {
            **asdict(self.config),
            "betas": list(self.config.betas),
            "dropout_q_used": self.dropout_[0],
            "dropout_s_used": self.dropout_[1],
            "device": str(self.device_),
            "random_state": self.random_state,
            "best_epoch": self.best_epoch_,
            "epochs_run": len(self.history_["validation_mae"]),
            "groups": self.generator_.groups,
            "parts_per_repeat": n_parts(self.n_genes_, self.config.side),
        }

    # --- preparation -------------------------------------------------------------------------

    def _prepare(self, scaled: np.ndarray, codes: np.ndarray, rng: np.random.Generator) -> _Data:
        cfg = self.config
        train = scaled.copy()
        n_cells = scaled.shape[0]
        val_pool = rng.choice(n_cells, min(n_cells, cfg.validation_cells), replace=False)
        cells, genes = np.nonzero(scaled[val_pool])
        cells = val_pool[cells]
        pick = rng.random(len(cells)) < cfg.validation_fraction
        cells, genes = cells[pick], genes[pick]
        if not len(cells):
            msg = (
                "no observed counts were held out to choose the epoch; raise "
                "validation_fraction or validation_cells"
            )
            raise ValueError(msg)
        train[cells, genes] = 0
        parts = gene_partitions(self.n_genes_, cfg.side, cfg.n_repeats, rng)
        device = self.device_
        return _Data(
            values=self._padded(train),
            around=self._padded(self._around(train, self._neighbours(train))),
            codes=torch.from_numpy(codes).to(device),
            parts=torch.from_numpy(parts).to(device),
            valid=torch.from_numpy(parts < self.n_genes_).to(device),
            val_cells=torch.from_numpy(cells).to(device),
            val_genes=torch.from_numpy(genes).to(device),
            val_values=torch.from_numpy(scaled[cells, genes]).to(device),
        )

    def _padded(self, values: np.ndarray) -> torch.Tensor:
        """``values`` with a zero padding column, on the device."""
        padded = np.hstack([values, np.zeros((len(values), 1), np.float32)])
        return torch.from_numpy(padded).to(self.device_)

    def _neighbours(self, values: np.ndarray) -> np.ndarray:
        """Nearest other cells, as many as the neighbourhood channel and the expected count need."""
        k = max(self.config.n_neighbors, self.config.expected_neighbors)
        if k == 0:
            return np.zeros((len(values), 0), np.int64)
        return nearest_neighbours(values, k, random_state=self.random_state)

    def _around(self, values: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
        if self.config.n_neighbors == 0:
            return np.zeros((len(values), 0), np.float32)
        return neighbour_mean(values, neighbours[:, : self.config.n_neighbors])

    def _expressed_share(self, values: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
        """1 where a gene is observed, else the share of neighbours expressing it."""
        k = self.config.expected_neighbors
        if k == 0:
            return np.ones(values.shape)
        share = neighbour_mean((values > 0).astype(np.float32), neighbours[:, :k])
        return np.where(values > 0, 1.0, share)

    def _dropout_params(self, scaled: np.ndarray, codes: np.ndarray) -> tuple[float, float]:
        cfg = self.config
        if not cfg.artificial_dropout:
            return (float("nan"), float("nan"))
        log_values = scaled * self.scaler_.top
        s = cfg.dropout_s
        if s == "auto":
            _, s = fit_dropout_curve(log_values)
        q = cfg.dropout_q
        if q == "auto":
            proxy = _group_mean_fill(log_values, codes[:, 0] if codes.shape[1] else None)
            q = calibrate_quantile(proxy, float((scaled == 0).mean()), float(s))
        logger.info("artificial dropout: q=%.1f, s=%.2f", q, s)
        return float(q), float(s)

    # --- training ----------------------------------------------------------------------------

    def _train(self, data: _Data) -> None:
        cfg = self.config
        G, D = self.generator_, self.discriminator_
        opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_generator, betas=cfg.betas, fused=True)
        opt_d = torch.optim.Adam(
            D.parameters(), lr=cfg.lr_discriminator, betas=cfg.betas, fused=True
        )
        k = torch.zeros(G.groups, device=self.device_)
        n_cells = data.values.shape[0]
        batch_size = min(cfg.batch_size, n_cells)
        generator = torch.Generator(device="cpu").manual_seed(self.random_state)
        step = [0]

        def run_epoch() -> dict[str, torch.Tensor]:
            nonlocal k
            G.train()
            D.train()
            order = torch.randperm(n_cells, generator=generator)
            sums: dict[str, torch.Tensor] = {}
            n_batches = 0
            for start in range(0, n_cells - batch_size + 1, batch_size):
                cells = order[start : start + batch_size].to(self.device_)
                losses = self._step(data, cells, k, opt_g, opt_d, step[0])
                k = (k + cfg.lambda_k * (cfg.gamma * losses.real - losses.fake)).clamp(0, 1)
                for name, value in asdict(losses).items():
                    sums[name] = sums.get(name, 0) + value.detach()
                step[0] += 1
                n_batches += 1
            logs = {name: (total / n_batches).cpu() for name, total in sums.items()}
            logs["k"] = k.detach().cpu().clone()
            bar.update()
            bar.set_postfix(M=f"{logs['convergence'].mean():.4f}", k_t=f"{logs['k'].mean():.4f}")
            return logs

        with progress_bar(cfg.epochs, enabled=self.progress, desc="scgan began") as bar:
            history, self.best_epoch_, errors = train_with_validation(
                run_epoch,
                lambda: self._validation_error(data),
                G,
                epochs=cfg.epochs,
                patience=cfg.patience,
            )
        self.history_ = {
            name: torch.stack([h[name] for h in history]).numpy()
            for name in [f.name for f in fields(BEGANLosses)] + ["k"]
        }
        self.history_["validation_mae"] = np.asarray(errors)

    def _step(self, data: _Data, cells, k, opt_g, opt_d, step: int) -> BEGANLosses:
        cfg = self.config
        G, D = self.generator_, self.discriminator_
        x = data.values[cells][:, data.parts]  # (batch, groups, side²)
        around = data.around[cells][:, data.parts] if G.neighbourhood else None
        codes = data.codes[cells]
        observed = x > 0
        hidden = observed & (torch.rand(x.shape, device=x.device) < cfg.mask_rate)
        with autocast(self.device_, cfg.mixed_precision):
            generated = G(x.masked_fill(hidden, 0.0), codes, around) * data.valid
            fake = generated
            if cfg.artificial_dropout:
                q, s = self.dropout_
                fake = apply_dropout(generated, generated * self.scaler_.top, q, s, data.valid)
            real_error = D.reconstruction_error(x, codes).mean(0)
            fake_error_d = D.reconstruction_error(fake.detach(), codes).mean(0)
            d_loss = real_error - k * fake_error_d
        optimizer_step(opt_d, d_loss.sum(), what="discriminator", step=step)
        with autocast(self.device_, cfg.mixed_precision):
            fake_error = D.reconstruction_error(fake, codes).mean(0)
            error = self._error(generated.float() - x) * observed
            reconstruction = error.sum(dim=(0, 2)) / observed.sum(dim=(0, 2)).clamp(min=1)
            g_loss = fake_error + cfg.alpha * reconstruction
        optimizer_step(opt_g, g_loss.sum(), what="generator", step=step)
        # k_t and M compare L(x) and L(Drop(G(x))) under the same discriminator
        return BEGANLosses(
            real=real_error.detach(),
            fake=fake_error_d.detach(),
            reconstruction=reconstruction.detach(),
            discriminator=d_loss.detach(),
            generator=g_loss.detach(),
            convergence=(real_error + (cfg.gamma * real_error - fake_error_d).abs()).detach(),
        )

    # --- prediction --------------------------------------------------------------------------

    @torch.no_grad()
    def _generate(self, values, around, codes, parts, valid, chunk: int = 1024):
        """G's output for every cell, scattered back to genes: ``(repeats, cells, genes)`` on the device."""
        G = self.generator_
        G.eval()
        n_cells = values.shape[0]
        repeats = self.config.n_repeats
        out = torch.zeros(repeats, n_cells, self.n_genes_ + 1, device=values.device)
        per_repeat = parts.shape[0] // repeats
        flat_parts = parts.view(repeats, -1)
        for start in range(0, n_cells, chunk):
            rows = slice(start, start + chunk)
            near = around[rows][:, parts] if G.neighbourhood else None  # full precision here
            y = G(values[rows][:, parts], codes[rows], near).float() * valid
            y = y.reshape(y.shape[0], repeats, per_repeat * parts.shape[1]).transpose(0, 1)
            out[:, rows].scatter_(2, flat_parts[:, None, :].expand(-1, y.shape[1], -1), y)
        return out[:, :, : self.n_genes_]

    def _validation_error(self, data: _Data) -> float:
        cells = torch.unique(data.val_cells)
        position = torch.full((data.values.shape[0],), -1, device=cells.device)
        position[cells] = torch.arange(len(cells), device=cells.device)
        predicted = self._generate(
            data.values[cells], data.around[cells], data.codes[cells], data.parts, data.valid
        )
        mean = predicted.mean(dim=0)[position[data.val_cells], data.val_genes]
        return float((mean - data.val_values).abs().mean())

    def _error(self, difference: torch.Tensor) -> torch.Tensor:
        """The reconstruction error per entry: absolute (l1) or squared (l2)."""
        return difference.abs() if self.config.reconstruction == "l1" else difference**2

    def _predict_repeats(self, scaled: np.ndarray, codes: np.ndarray, neighbours: np.ndarray):
        parts = torch.as_tensor(self.parts_, device=self.device_)
        with seeded(self.device_, self.random_state):  # G's noise channel, if any
            predicted = self._generate(
                self._padded(scaled),
                self._padded(self._around(scaled, neighbours)),
                torch.as_tensor(np.array(codes, dtype=np.int64), device=self.device_),
                parts,
                parts < self.n_genes_,
            )
        for repeat in predicted:
            yield repeat.cpu().numpy().astype(np.float64)


def _condition_codes(n_cells: int, codes, n_categories, conditional: bool):
    """Condition codes as an ``(cells, n)`` int64 array (n = 0 when unconditional), checked."""
    if codes is None or not conditional:
        if conditional and n_categories:
            msg = f"the model was fitted with {len(n_categories)} conditions; pass their codes"
            raise ValueError(msg)
        return np.zeros((n_cells, 0), np.int64), []
    codes = np.asarray(codes, dtype=np.int64).reshape(n_cells, -1)
    n_categories = list(n_categories) if n_categories is not None else list(codes.max(axis=0) + 1)
    if codes.shape[1] != len(n_categories) or (codes < 0).any() or (codes >= n_categories).any():
        msg = (
            f"condition codes must be {len(n_categories)} columns of integers below {n_categories}"
        )
        raise ValueError(msg)
    return codes, n_categories


def _group_mean_fill(log_values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Zeros replaced by their group's (or the overall) mean, zeros included: a stand-in for ``G(x)``."""
    filled = log_values.copy()
    labels = np.zeros(len(log_values), int) if groups is None else groups
    for label in np.unique(labels):
        cells = labels == label
        block = filled[cells]
        means = np.broadcast_to(block.mean(axis=0), block.shape)
        filled[cells] = np.where(block == 0, means, block)
    return filled
