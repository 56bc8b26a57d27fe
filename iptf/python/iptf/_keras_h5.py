"""Legacy Keras HDF5 models (`.h5`) on iptf:// paths.

h5py only opens local files, so Keras would save `model.save("iptf://…/m.h5")` into a local
folder named `iptf:`. This hook, installed at interpreter start by `iptf-tensorflow.pth`, waits
for Keras's HDF5 module to be imported and routes iptf:// paths through a local temporary file
copied with tf.io.gfile. It imports nothing until Keras does.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import shutil
import sys
import tempfile
from typing import Any, Callable

MODULE = "keras.src.legacy.saving.legacy_h5_format"
SCHEME = "iptf://"


def _is_iptf(path: Any) -> bool:
    return isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(SCHEME)


def _wrap_save(save: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(save)
    def save_model_to_hdf5(model: Any, filepath: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_iptf(filepath):
            return save(model, filepath, *args, **kwargs)
        import tensorflow as tf

        staging = tempfile.mkdtemp(prefix="iptf-h5-")
        try:
            local = os.path.join(staging, "model.h5")
            result = save(model, local, *args, **kwargs)
            tf.io.gfile.copy(local, os.fspath(filepath), overwrite=True)
            return result
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    return save_model_to_hdf5


def _wrap_load(load: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(load)
    def load_model_from_hdf5(filepath: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_iptf(filepath):
            return load(filepath, *args, **kwargs)
        import tensorflow as tf

        staging = tempfile.mkdtemp(prefix="iptf-h5-")
        try:
            local = os.path.join(staging, "model.h5")
            tf.io.gfile.copy(os.fspath(filepath), local)
            return load(local, *args, **kwargs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    return load_model_from_hdf5


def _patch(module: Any) -> None:
    module.save_model_to_hdf5 = _wrap_save(module.save_model_to_hdf5)
    module.load_model_from_hdf5 = _wrap_load(module.load_model_from_hdf5)


class _Finder(importlib.abc.MetaPathFinder):
    """Patches Keras's HDF5 module right after it is first executed."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            _patch(module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Install the hook (a no-op when Keras's HDF5 module is already loaded: patch it now)."""
    if MODULE in sys.modules:
        _patch(sys.modules[MODULE])
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
