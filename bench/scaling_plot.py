"""The scaling benchmarks' figure: time against input size beside a linear reference, and peak memory."""

from __future__ import annotations

from pathlib import Path


def plot_scaling(path: Path, megabytes: list[float], times: dict[str, list[float]], peak_rss_mb: list[float],
                 titles: tuple[str, str, str]) -> None:
    """Left: each labelled series of seconds against input MB, and linear growth from the first series'
    smallest size; right: peak RSS. `titles`: the time panel's, the memory axis label, the figure's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    time_title, rss_label, figure_title = titles
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for (label, seconds), marker in zip(times.items(), "os^", strict=False):
        left.plot(megabytes, seconds, marker=marker, label=label)
    first = next(iter(times.values()))
    left.plot(megabytes, [first[0] * m / megabytes[0] for m in megabytes], linestyle="--", color="grey",
              label="linear from 1x")  # fmt: skip
    left.set(xlabel="input MB", ylabel="seconds", title=time_title)
    left.legend(fontsize=8)
    right.plot(megabytes, peak_rss_mb, marker="o")
    right.set(xlabel="input MB", ylabel=rss_label, title="Peak memory", ylim=(0, None))
    fig.suptitle(figure_title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
