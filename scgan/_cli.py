"""The ``scgan`` command: ``scgan impute`` and ``scgan benchmark``.

Bad input ends with one line on stderr (``scgan: error: ...``) and exit
status 1, never a traceback; the input file is only read; outputs are written
to a temporary file beside the target and renamed into place, so a crash
leaves no half-written file. From ``.h5ad`` to ``.h5ad`` the counts are read
and the imputation written a block of rows at a time (into a copy of the
input), so the imputed matrix is never whole in memory.
"""

import argparse
import json
import logging
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import anndata as ad

from ._files import staged
from ._keys import IMPUTED
from ._signals import end_cleanly_on_sigterm
from .models import BACKENDS, DEFAULT_METHOD
from .tl import DEFAULT_BENCHMARK, PROTOCOLS

SCIGANS_SUFFIXES = (".txt", ".tsv", ".tab")


class UsageError(Exception):
    """A problem with the command line's files or options, reported in one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        with (
            end_cleanly_on_sigterm("scgan: terminated; no output was written"),
            _command_settings(args.quiet, args.threads),
            warnings.catch_warnings(),
        ):
            warnings.showwarning = _show_warning  # catch_warnings restores the usual display
            args.run(args)
    except KeyboardInterrupt:
        print("scgan: interrupted; no output was written", file=sys.stderr)
        return 130
    except (UsageError, ValueError, KeyError, TypeError, OSError, RuntimeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"scgan: error: {message}", file=sys.stderr)
        return 1
    return 0


def _show_warning(message, *_, **__) -> None:
    print(f"scgan: warning: {message}", file=sys.stderr)


# --- impute ---------------------------------------------------------------------------------------


def _impute(args: argparse.Namespace) -> None:
    import scgan

    source, target = Path(args.input), Path(args.output)
    _check_paths(source, target, args.force)
    if args.save_model:
        _check_model_folder(Path(args.save_model), args.force)
    if args.model:
        _check_model_options(args)
        imputer = scgan.Imputer.load(args.model, device=args.device)
        run = imputer.impute
    else:
        imputer = scgan.Imputer(
            args.method or DEFAULT_METHOD,
            layer=args.layer,
            labels_key=args.labels_key or ("label" if args.labels else None),
            batch_key=args.batch_key,
            random_state=args.seed,
            device=args.device,
            progress=False if args.quiet else None,
            devices=args.devices,
            **dict(args.set),
        )
        run = imputer.fit_impute
    options = {"target_batch": args.target_batch, "only_zeros": not args.denoise}
    options["n_draws"] = args.n_draws
    if source.suffix == target.suffix == ".h5ad":  # read and written a block of rows at a time
        adata = _read(source, args.labels, backed=True)
        try:
            with staged(target) as temporary:
                shutil.copyfile(source, temporary)
                run(adata, write_to=temporary, **options)
                if args.save_model:
                    imputer.save(args.save_model, overwrite=args.force)
        finally:
            adata.file.close()
    else:
        adata = _read(source, args.labels)
        run(adata, **options)
        if args.save_model:
            imputer.save(args.save_model, overwrite=args.force)
        _write_atomically(target, lambda path: _write(adata, path))
    logging.getLogger("scgan").info("wrote %s", target)


def _check_model_options(args: argparse.Namespace) -> None:
    """A saved model keeps the settings it was trained with: refuse options that would be ignored."""
    options = {
        "--method": args.method,
        "--layer": args.layer,
        "--labels-key": args.labels_key,
        "--batch-key": args.batch_key,
        "--set": args.set,
        "--devices": args.devices != 1,
    }
    given = [flag for flag, value in options.items() if value]
    if given:
        msg = f"--model uses the saved model's settings; drop {', '.join(given)}"
        raise UsageError(msg)


def _read(path: Path, labels: str | None, *, backed: bool = False) -> ad.AnnData:
    """The AnnData in ``path``; an ``.h5ad`` with ``backed`` leaves ``X`` in the file."""
    if not path.is_file():
        msg = f"input file {path} not found"
        raise UsageError(msg)
    if path.suffix == ".h5ad":
        if labels:
            msg = "--labels is for scIGANs' tab-separated input; an .h5ad has --labels-key"
            raise UsageError(msg)
        return ad.read_h5ad(path, backed="r" if backed else None)
    if path.suffix in SCIGANS_SUFFIXES:
        from scgan.datasets import read_scigans

        return read_scigans(path, labels)
    msg = f"{path}: expected an .h5ad file or scIGANs' tab-separated matrix ({', '.join(SCIGANS_SUFFIXES)})"
    raise UsageError(msg)


def _write(adata: ad.AnnData, path: Path) -> None:
    """``.h5ad``: the whole AnnData; tab-separated: the imputed counts, genes × cells (scIGANs)."""
    if path.suffix == ".h5ad":
        adata.write_h5ad(path)
    else:
        adata.to_df(IMPUTED).T.to_csv(path, sep="\t")


# --- benchmark ------------------------------------------------------------------------------------


def _benchmark(args: argparse.Namespace) -> None:
    import scgan

    target = Path(args.output)
    if args.input:
        adata = _read(Path(args.input), None)
        _check_paths(Path(args.input), target, args.force)
    else:
        adata, args.labels_key = scgan.datasets.pbmc68k(), args.labels_key or "bulk_labels"
        _check_paths(None, target, args.force)
    if args.figure:
        _check_paths(None, Path(args.figure), args.force)
    df = scgan.tl.benchmark(
        adata,
        args.methods,
        dataset=Path(args.input).stem if args.input else "pbmc68k",
        labels_key=args.labels_key,
        batch_key=args.batch_key,
        protocols=args.protocols,
        mask_fraction=args.mask_fraction,
        random_state=args.seed,
        progress=False if args.quiet else None,
    )
    _write_atomically(target, lambda path: df.to_csv(path, index=False))
    if args.figure:
        figure = scgan.pl.benchmark(df)
        _write_atomically(Path(args.figure), lambda path: figure.savefig(path, dpi=110))
    table = df.pivot_table(index="method", columns="metric", values="value", sort=False)
    print(table.round(3).to_string())


# --- files ----------------------------------------------------------------------------------------


def _check_paths(source: Path | None, target: Path, force: bool) -> None:
    if source is not None and target.resolve() == source.resolve():
        msg = f"the output {target} is the input; scgan never overwrites its input"
        raise UsageError(msg)
    if target.exists() and not force:
        msg = f"{target} exists; pass --force to overwrite it"
        raise UsageError(msg)
    if not target.parent.is_dir():
        msg = f"the folder {target.parent} does not exist"
        raise UsageError(msg)


def _check_model_folder(path: Path, force: bool) -> None:
    """Before training: ``--save-model`` may replace only a saved model, and only with ``--force``."""
    from scgan.models._state import check_replaceable

    if path.exists() and not force:
        msg = f"{path} exists; pass --force to replace it"
        raise UsageError(msg)
    check_replaceable(path, overwrite=True)


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the target's folder, then rename it into place."""
    with staged(target) as temporary:
        write(temporary)


# --- parsing --------------------------------------------------------------------------------------


def _setting(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as JSON where it parses (numbers, true/false), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        msg = f"--set takes KEY=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scgan",
        description="GAN-based dropout imputation for single-cell RNA-seq counts.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    impute = commands.add_parser(
        "impute",
        help="impute dropouts in a count matrix",
        description="Impute dropouts; writes layer 'scgan_imputed' (and 'scgan_imputed_std' "
        "for methods with a spread) and uns['scgan_imputed'] (an .h5ad output) or the "
        "imputed counts, genes × cells (a .txt/.tsv output, scIGANs' format).",
    )
    impute.add_argument("input", help="raw counts: .h5ad, or scIGANs' genes × cells .txt/.tsv")
    impute.add_argument("-o", "--output", required=True, help="output file (.h5ad or .txt/.tsv)")
    impute.add_argument(
        "--method", choices=list(BACKENDS), help=f"backend (default {DEFAULT_METHOD})"
    )
    impute.add_argument("--layer", help="read counts from this layer instead of X")
    impute.add_argument(
        "--labels-key", help="obs column with cell types (default: Leiden clusters)"
    )
    impute.add_argument(
        "--labels",
        help="scIGANs' label file (one label per cell) for .txt input; read as obs['label']",
    )
    impute.add_argument("--batch-key", help="obs column with batches (technique or sample)")
    impute.add_argument("--target-batch", help="impute every cell as if measured in this batch")
    impute.add_argument(
        "--denoise", action="store_true", help="replace observed counts too (only_zeros=False)"
    )
    impute.add_argument(
        "--n-draws",
        type=int,
        default=0,
        help="also write this many multiple imputations, drawn from the model (began only)",
    )
    impute.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="default: auto"
    )
    impute.add_argument(
        "--devices",
        type=int,
        default=1,
        metavar="N",
        help="train on N GPUs, or N CPU processes with --device cpu (default 1)",
    )
    impute.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    impute.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a backend setting, e.g. --set epochs=50 (repeatable)",
    )
    impute.add_argument("--save-model", metavar="DIR", help="save the trained model to DIR")
    impute.add_argument(
        "--model", metavar="DIR", help="impute with a saved model instead of training one"
    )
    impute.set_defaults(run=_impute)

    bench = commands.add_parser(
        "benchmark",
        help="score imputers on the same data",
        description="Run each method under each protocol (hidden non-zeros, Open Problems' "
        "denoising split, genes shuffled for false signal) and score it; writes a tidy CSV "
        "(dataset, protocol, method, metric, value, seconds, peak_memory_mb) and prints a table.",
    )
    bench.add_argument("input", nargs="?", help=".h5ad with raw counts (default: pbmc68k)")
    bench.add_argument("-o", "--output", required=True, help="CSV file for the scores")
    bench.add_argument(
        "--methods",
        nargs="+",
        help=f"baselines and scgan methods (default: {' '.join(DEFAULT_BENCHMARK)}; "
        "celltype_mean only with cell types; 'began denoised' for only_zeros=False)",
    )
    bench.add_argument("--labels-key", help="obs column with cell types (pbmc68k: bulk_labels)")
    bench.add_argument("--batch-key", help="obs column with batches")
    bench.add_argument(
        "--protocols",
        nargs="+",
        choices=PROTOCOLS,
        default=list(PROTOCOLS),
        help=f"which tests to run (default: {' '.join(PROTOCOLS)})",
    )
    bench.add_argument(
        "--mask-fraction", type=float, default=0.1, help="share of non-zeros hidden (default 0.1)"
    )
    bench.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bench.add_argument("--figure", help="also draw the scores to this image file")
    bench.set_defaults(run=_benchmark)

    for sub in (impute, bench):
        sub.add_argument("--force", action="store_true", help="overwrite existing outputs")
        sub.add_argument("--quiet", action="store_true", help="no progress bar or log lines")
        sub.add_argument(
            "--threads",
            type=int,
            help="CPU threads (default: scanpy's n_jobs setting, 1; -1: all cores)",
        )
    return parser


@contextmanager
def _command_settings(quiet: bool, threads: int | None) -> Iterator[None]:
    """Log lines on stderr (none with ``--quiet``) and ``scanpy.settings.n_jobs``.

    ``--threads`` sets scanpy's ``n_jobs``, which scgan's CPU thread count
    follows. Both are restored afterwards, so calling :func:`main`
    in-process leaves no trace.
    """
    import scanpy

    logger = logging.getLogger("scgan")
    level, handlers, n_jobs = logger.level, list(logger.handlers), scanpy.settings.n_jobs
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if threads is not None:
        scanpy.settings.n_jobs = threads
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        scanpy.settings.n_jobs = n_jobs


if __name__ == "__main__":
    sys.exit(main())
