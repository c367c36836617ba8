from collections.abc import Sequence

import pandas as pd


def benchmark(
    df: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    ncols: int = 4,
    panel_size: tuple[float, float] = (3.2, 2.6),
):
    """Draw a benchmark table from :func:`scgan.tl.benchmark`: one panel per metric.

    Each panel has a group of horizontal bars per method, one bar per data set;
    the method names are written on the first panel of each row.

    Parameters
    ----------
    df
        Tidy table with columns dataset, method, metric and value.
    metrics
        Metrics to draw, in this order; all by default.
    ncols
        Panels per row.
    panel_size
        Width and height of one panel, in inches.

    Returns
    -------
    The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    metrics = list(metrics or dict.fromkeys(df["metric"]))
    methods = list(dict.fromkeys(df["method"]))
    datasets = list(dict.fromkeys(df["dataset"]))
    ncols = min(ncols, len(metrics))
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        squeeze=False,
        constrained_layout=True,
    )
    height = 0.8 / len(datasets)
    for index, (ax, metric) in enumerate(zip(axes.flat, metrics, strict=False)):
        table = df[df["metric"] == metric].pivot_table(
            index="method", columns="dataset", values="value", sort=False
        )
        for i, dataset in enumerate(datasets):
            values = table.reindex(methods).get(dataset)
            if values is None:
                continue
            positions = [m + i * height for m in range(len(methods))]
            ax.barh(positions, values.to_numpy(), height=height, color=f"C{i}", label=dataset)
        ax.set_yticks([m + 0.4 - height / 2 for m in range(len(methods))], methods)
        ax.tick_params(axis="y", labelleft=index % ncols == 0)  # rows line up across panels
        ax.invert_yaxis()
        ax.set_title(metric, fontsize=9)
    for ax in axes.flat[len(metrics) :]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=f"C{i}") for i in range(len(datasets))]
    fig.legend(handles, datasets, loc="outside upper center", ncols=len(datasets), fontsize=8)
    return fig
