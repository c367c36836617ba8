import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import TINY

import scgan


def test_benchmark_is_tidy_and_leaves_input_alone(sim_batches):
    adata = sim_batches.copy()
    df = scgan.tl.benchmark(
        adata,
        ["none", "celltype_mean"],
        dataset="toy",
        labels_key="cell_type",
        batch_key="batch",
        cluster_method="kmeans",
    )
    columns = ["dataset", "protocol", "method", "metric", "value", "seconds", "peak_memory_mb"]
    assert list(df.columns) == columns
    assert set(df["method"]) == {"none", "celltype_mean"}
    assert set(df["protocol"]) == {"masked", "denoising", "false_signal"}
    metrics = {"heldout_pearson_log1p", "dropout_pearson_log1p", "ari", "ilisi", "variance_ratio"}
    assert metrics | {"denoising_score", "spurious_share_0.1"} <= set(df["metric"])
    none = df[df.method == "none"].set_index("metric")["value"]
    assert none["denoising_score"] == pytest.approx(0.0)  # returning train scores 0
    assert (adata.X != sim_batches.X).nnz == 0
    assert "scgan_mask" not in adata.uns and not set(adata.layers) - {"true_counts"}
    mean = df[(df.method == "celltype_mean") & (df.metric == "heldout_pearson_log1p")]
    assert mean["value"].iloc[0] > 0.3


def test_benchmark_accepts_callables(sim_batches):
    def doubled(counts, *, labels, batches, random_state):
        return counts.toarray() * 2

    df = scgan.tl.benchmark(
        sim_batches, {"doubled": doubled}, mask_fraction=None, protocols=["masked"]
    )
    assert set(df["method"]) == {"doubled"}
    assert "heldout_mae" not in set(df["metric"])  # nothing masked: scored against the truth


def test_benchmark_plot_renders():
    df = scgan.tl.benchmark(
        scgan.datasets.simulate(120, 60, random_state=0),
        ["none", "alra"],
        dataset="a",
        protocols=["masked"],
    )
    other = df.assign(dataset="b")
    other = other[other["metric"] != "all_pearson_log1p"]  # a metric only one data set has
    fig = scgan.pl.benchmark(pd.concat([df, other]), ncols=3)
    fig.canvas.draw()
    assert len([ax for ax in fig.axes if ax.has_data()]) == df["metric"].nunique()
    only_a = next(ax for ax in fig.axes if ax.get_title() == "all_pearson_log1p")
    assert {tuple(p.get_facecolor()) for p in only_a.patches} == {matplotlib.colors.to_rgba("C0")}
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    named = [ax.yaxis.get_major_ticks()[0].label1.get_visible() for ax in fig.axes if ax.has_data()]
    assert named == [i % 3 == 0 for i in range(len(named))]  # names on each row's first panel
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["none", "alra"]
    plt.close(fig)


def test_measure_sees_allocations_and_elapsed_time(monkeypatch):
    from scgan import _measure

    clock = iter([10.0, 12.5])
    monkeypatch.setattr(_measure.time, "perf_counter", lambda: next(clock))
    with _measure.measure() as cost:
        block = np.ones((4096, 4096))  # 128 MiB
        block.sum()
    assert cost.peak_memory_mb > 100
    assert cost.seconds == 2.5


def test_benchmark_imputes_the_layer_the_mask_was_made_on(sim_batches):
    adata = sim_batches.copy()
    adata.layers["counts"] = adata.X.copy()
    masked = scgan.tl.mask_nonzeros(adata, layer="counts", random_state=0)
    seen = []

    def spy(counts, *, labels, batches, random_state):
        seen.append(counts.toarray())
        return counts.toarray()

    scgan.tl.benchmark(masked, {"spy": spy}, protocols=["masked"])
    np.testing.assert_array_equal(seen[0], masked.layers["counts"].toarray())
    with pytest.raises(ValueError, match="made on 'counts', not layer='other'"):
        scgan.tl.benchmark(masked, {"spy": spy}, layer="other", protocols=["masked"])


def test_a_method_named_like_a_layer_does_not_replace_it(sim_batches):
    def observed(counts, *, labels, batches, random_state):
        return counts.toarray()

    df = scgan.tl.benchmark(
        sim_batches, {"true_counts": observed}, mask_fraction=None, protocols=["masked"]
    )
    score = df.loc[df.metric == "all_pearson_log1p", "value"].iloc[0]
    assert score < 0.99  # scored against the simulator's truth, not against itself


def test_benchmark_refuses_unknown_protocols_and_runs_denoised_scgan(sim_batches):
    with pytest.raises(ValueError, match="protocols must be some of"):
        scgan.tl.benchmark(sim_batches, ["none"], protocols=["masked", "cross"])
    with pytest.raises(ValueError, match="unknown methods"):
        scgan.tl.benchmark(sim_batches, ["alra denoised"])
    resolved = scgan.tl._benchmark._resolve(["began denoised"], None)
    assert set(resolved) == {"began denoised"}


def test_gan_outputs_train_one_model_per_input(sim_batches, monkeypatch):
    fits = []
    original = scgan.Imputer.fit

    def counted(self, adata):
        fits.append(adata.n_obs)
        return original(self, adata)

    monkeypatch.setattr(scgan.Imputer, "fit", counted)
    outputs = {"filled": {}, "denoised": {"only_zeros": False}}
    methods = scgan.tl.gan_outputs(outputs, progress=False, **TINY["began"])
    counts = sim_batches.X
    labels = sim_batches.obs["cell_type"].to_numpy()
    filled = methods["filled"](counts, labels=labels, random_state=0)
    denoised = methods["denoised"](counts, labels=labels, random_state=0)
    assert fits == [sim_batches.n_obs]  # one model, two outputs
    observed = counts.toarray() > 0
    np.testing.assert_array_equal(filled[observed], counts.toarray()[observed])
    assert not np.array_equal(denoised[observed], filled[observed])
    methods["filled"](counts[:100].copy(), labels=labels[:100], random_state=0)
    assert fits == [sim_batches.n_obs, 100]  # new data: a new model
