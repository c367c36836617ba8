"""The one adversarial training loop, on a toy game."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from scgan._train import (
    AdversarialPlan,
    DivergenceError,
    FusedAdam,
    LossOutput,
    Optimiser,
    train,
)
from scgan.models._balance import BEGANBalance


class Toy(AdversarialPlan):
    """G and D are single linear maps; records what the loop did."""

    name = "toy"
    select = "score"

    def __init__(self, n_critic=1, steps=3, scores=(), loss_value=None):
        self.n_critic, self.steps, self.scores = n_critic, steps, list(scores)
        self.loss_value = loss_value
        self.calls: list[tuple[str, bool]] = []  # (player, other player frozen)

    def build(self):
        self.generator, self.discriminator = nn.Linear(2, 2), nn.Linear(2, 1)

    def kept(self):
        return self.generator

    def modules(self):
        return {"generator": [self.generator], "discriminator": [self.discriminator]}

    def optimisers(self):
        return {
            name: Optimiser([{"params": net.parameters(), "lr": 0.1}])
            for name, net in (("generator", self.generator), ("discriminator", self.discriminator))
        }

    def steps_per_epoch(self):
        return self.steps

    def batches(self, epoch):
        for _ in range(self.steps):
            yield torch.randn(4, 2)

    def forward(self, batch):
        return self.generator(batch)

    def loss(self, player, batch, fake):
        other = self.discriminator if player == "generator" else self.generator
        self.calls.append((player, not any(p.requires_grad for p in other.parameters())))
        if player == "discriminator":
            loss = self.discriminator(fake.detach()).mean() - self.discriminator(batch).mean()
            return LossOutput(loss, {"critic": loss})
        loss = -self.discriminator(fake).mean()
        if self.loss_value is not None:
            loss = loss * self.loss_value
        return LossOutput(loss, {"generator": loss})

    def after_epoch(self):
        return {"score": self.scores.pop(0)} if self.scores else {"score": 0.0}


def _train(plan, epochs=2, patience=None):
    return train(
        plan, epochs=epochs, device=torch.device("cpu"), seed=0, progress=False, patience=patience
    )


def test_generator_steps_every_n_critic_steps_with_the_discriminator_frozen():
    plan = Toy(n_critic=3, steps=6, scores=[1.0, 1.0])
    result = _train(plan)
    players = [player for player, _ in plan.calls]
    assert players.count("discriminator") == 12 and players.count("generator") == 4
    assert all(frozen for _, frozen in plan.calls)
    assert result.history["critic"].shape == (2,) and result.history["generator"].shape == (2,)


def test_an_epoch_without_a_term_records_nan():
    plan = Toy(n_critic=4, steps=3, scores=[1.0, 1.0])  # steps 1-3: no generator step; 4-6: one
    history = _train(plan).history
    assert np.isnan(history["generator"][0]) and np.isfinite(history["generator"][1])
    assert np.isfinite(history["critic"]).all()


def test_the_best_epoch_is_kept_and_patience_stops_training():
    plan = Toy(scores=[3.0, 1.0, 2.0, 5.0, 0.5])
    states = []
    original = plan.after_epoch

    def remember():
        states.append({k: v.clone() for k, v in plan.generator.state_dict().items()})
        return original()

    plan.after_epoch = remember
    result = _train(plan, epochs=5, patience=2)
    assert result.best_epoch == 1 and len(result.history["score"]) == 4  # stopped after epoch 3
    for name, value in plan.generator.state_dict().items():
        torch.testing.assert_close(value, states[1][name])


def test_divergence_names_the_player_and_step():
    with pytest.raises(DivergenceError, match="generator loss is nan at step 0"):
        _train(Toy(loss_value=float("nan")))


def test_training_leaves_the_global_rng_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    _train(Toy(scores=[1.0, 1.0]))
    torch.testing.assert_close(torch.rand(3), expected)


def test_began_balance_moves_k_towards_equilibrium_and_clips():
    balance = BEGANBalance.start(gamma=0.5, lambda_k=0.1)
    terms = balance.update(torch.tensor(1.0), torch.tensor(0.2))  # γ L(x) − L(G) = 0.3
    assert terms["k_t"].item() == pytest.approx(0.03) and terms["M"].item() == pytest.approx(1.3)
    balance.update(torch.tensor(1.0), torch.tensor(50.0))
    assert balance.k.item() == 0.0  # clipped at 0
    assert balance.discriminator_loss(torch.tensor(1.0), torch.tensor(2.0)).item() == 1.0


def test_fused_adam_steps_as_torch_adam_with_its_fused_kernel():
    torch.manual_seed(0)
    mine, theirs = nn.Linear(5, 3), nn.Linear(5, 3)
    theirs.load_state_dict(mine.state_dict())
    groups = [{"params": [mine.weight], "lr": 0.1}, {"params": [mine.bias], "lr": 0.01}]
    ours = FusedAdam(groups, betas=(0.8, 0.99))
    reference = torch.optim.Adam(
        [{"params": [theirs.weight], "lr": 0.1}, {"params": [theirs.bias], "lr": 0.01}],
        betas=(0.8, 0.99),
        fused=True,
    )
    x = torch.randn(7, 5)
    for step in range(4):
        for net, optimiser in ((mine, ours), (theirs, reference)):
            optimiser.zero_grad(set_to_none=True)
            if step == 2:  # the bias has no gradient: skipped by both
                (net.weight.sum() + net(x).detach().sum()).backward()
            else:
                net(x).square().sum().backward()
            optimiser.step()
        assert torch.equal(mine.weight, theirs.weight)
        assert torch.equal(mine.bias, theirs.bias)


def test_training_the_imputer_does_not_import_torchs_compiler():
    code = (
        "import sys, numpy as np, scgan\n"
        "x = np.random.default_rng(0).poisson(2.0, (80, 20)).astype(np.float32)\n"
        "from scgan.models.began import BEGANConfig, BEGANImputer\n"
        "BEGANImputer(BEGANConfig(epochs=1, side=2), progress=False).fit(x)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"
