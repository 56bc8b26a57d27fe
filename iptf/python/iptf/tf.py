"""TensorFlow glue: the iptf:// plugin's registration, and model loading over iptf:// paths.

`import tensorflow` registers the plugin by itself (it sits in site-packages/tensorflow-plugins/);
`enable()` is the idempotent fallback for environments where that did not happen.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .errors import IptfError

PLUGIN_NAME = "libiptf_fs.dylib" if sys.platform == "darwin" else "libiptf_fs.so"
SCHEME = "iptf"


def plugin_path() -> Path:
    """The plugin library installed beside this package."""
    return Path(__file__).resolve().parent.parent / "tensorflow-plugins" / PLUGIN_NAME


def _tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        raise IptfError("TensorFlow is not installed: pip install 'iptf-tensorflow[tensorflow]'") from None
    return tf


def enable() -> None:
    """Make sure TensorFlow knows the iptf:// scheme (a no-op when the plugin registered itself)."""
    tf = _tensorflow()
    if SCHEME in tf.io.gfile.get_registered_schemes():
        return
    path = plugin_path()
    if not path.exists():
        raise IptfError(f"the IPTF TensorFlow plugin is missing at {path} (reinstall iptf-tensorflow)")
    try:
        tf.experimental.register_filesystem_plugin(str(path))
    except tf.errors.AlreadyExistsError:
        pass


def load_model(path: str, **kwargs: Any) -> Any:
    """Load a Keras `.keras` file or a SavedModel directory from an iptf:// (or local) path."""
    tf = _tensorflow()
    enable()
    if path.endswith(".keras"):
        import keras

        return keras.models.load_model(path, **kwargs)
    if path.endswith((".h5", ".hdf5")):
        raise IptfError(f"{path}: legacy HDF5 models cannot be read from iptf:// paths; save as .keras")
    if tf.io.gfile.isdir(path) and tf.io.gfile.exists(path.rstrip("/") + "/saved_model.pb"):
        return tf.saved_model.load(path, **kwargs)
    if not tf.io.gfile.exists(path):
        raise IptfError(f"{path}: no such model")
    raise IptfError(f"{path}: neither a .keras file nor a SavedModel directory")
