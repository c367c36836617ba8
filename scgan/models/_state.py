"""Fitted state on disk without pickled objects: JSON for settings, tensors for weights.

A backend's ``get_state()`` returns a nested dict whose leaves are JSON values,
NumPy arrays or torch tensors (network ``state_dict``s are dicts of tensors).
:func:`save_state` splits it: arrays and tensors go to ``weights.pt``
(written by ``torch.save``, read back with ``weights_only=True``, which
refuses anything but tensors and plain containers, so loading never runs code
from the file); everything else goes to ``scgan.json``.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._device import seeded

SETTINGS_FILE = "scgan.json"
WEIGHTS_FILE = "weights.pt"
_SEP = "/"


def save_state(directory: Path, state: dict[str, Any]) -> None:
    """Write ``state`` as ``scgan.json`` and ``weights.pt`` in ``directory`` (which must exist)."""
    tensors: dict[str, torch.Tensor] = {}
    arrays: list[str] = []
    settings = _split(state, "", tensors, arrays)
    settings["_numpy_arrays"] = arrays
    torch.save(tensors, directory / WEIGHTS_FILE)
    (directory / SETTINGS_FILE).write_text(json.dumps(settings, indent=1))


def gan_weights(model) -> dict[str, dict]:
    """The ``state_dict`` of ``model.generator_`` and ``model.discriminator_``, for ``get_state``."""
    return {
        "generator": model.generator_.state_dict(),
        "discriminator": model.discriminator_.state_dict(),
    }


def restore_gan(state: dict, build, device, seed: int) -> tuple:
    """The networks ``build()`` makes, with the weights :func:`gan_weights` gave.

    They are made under ``seed``, so the caller's global RNG is left alone.
    """
    with seeded(device, seed):
        generator, discriminator = build()
    generator.load_state_dict(state["generator"])
    discriminator.load_state_dict(state["discriminator"])
    return generator, discriminator


def check_replaceable(path: Path, *, overwrite: bool) -> None:
    """Refuse to replace anything but a saved model, and that only with ``overwrite``."""
    if not path.exists():
        return
    if not overwrite:
        msg = f"{path} exists; pass overwrite=True to replace it"
        raise FileExistsError(msg)
    if not path.is_dir() or {p.name for p in path.iterdir()} - {SETTINGS_FILE, WEIGHTS_FILE}:
        msg = (
            f"{path} is not a folder holding only a saved scgan model, so it is not "
            "replaced; save to a new folder"
        )
        raise FileExistsError(msg)


def load_state(directory: Path) -> dict[str, Any]:
    """The nested dict :func:`save_state` wrote, arrays as NumPy arrays and tensors on the CPU."""
    if not directory.is_dir():
        msg = f"no saved scgan model at {directory}"
        raise FileNotFoundError(msg)
    for name in (SETTINGS_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            msg = f"{directory} holds no saved scgan model ({name} missing)"
            raise FileNotFoundError(msg)
    settings = json.loads((directory / SETTINGS_FILE).read_text())
    try:
        tensors = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    except Exception as error:  # the weights-only unpickler refuses any object that is not data
        msg = f"{directory / WEIGHTS_FILE} is not a plain weights file and was not loaded ({error})"
        raise ValueError(msg) from None
    arrays = set(settings.pop("_numpy_arrays", []))
    for key, tensor in tensors.items():
        value = tensor.numpy() if key in arrays else tensor
        _put(settings, key.split(_SEP), value)
    return settings


def _split(tree: dict, prefix: str, tensors: dict, arrays: list) -> dict:
    settings = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if _SEP in str(key):
            msg = f"state key {key!r} may not contain {_SEP!r}"
            raise ValueError(msg)
        if isinstance(value, dict):
            settings[key] = _split(value, path + _SEP, tensors, arrays)
        elif isinstance(value, torch.Tensor):
            tensors[path] = value.detach().cpu()
        elif isinstance(value, np.ndarray):
            tensors[path] = torch.from_numpy(np.ascontiguousarray(value))
            arrays.append(path)
        else:
            settings[key] = _plain(value)
    return settings


def _plain(value):
    """A JSON-ready copy of ``value`` (tuples as lists, NumPy scalars as Python numbers)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _put(tree: dict, path: list[str], value) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value
