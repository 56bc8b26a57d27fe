"""TensorFlow glue: the iptf:// plugin's registration.

`import tensorflow` registers the plugin by itself (it sits in site-packages/tensorflow-plugins/);
`enable()` is the idempotent fallback for environments where that did not happen.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import IptfError

PLUGIN_NAME = "libiptf_fs.dylib" if sys.platform == "darwin" else "libiptf_fs.so"
SCHEME = "iptf"
# Names the plugin library to use where several are installed (the plugin reads it too).
ENV_PLUGIN = "IPTF_PLUGIN"


def plugin_path() -> Path:
    """The plugin library: $IPTF_PLUGIN, else the one installed beside this package."""
    override = os.environ.get(ENV_PLUGIN)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "tensorflow-plugins" / PLUGIN_NAME


def tensorflow():
    """TensorFlow, imported quietly, or a one-line error saying how to install it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        raise IptfError("TensorFlow is not installed: pip install 'iptf-tensorflow[tensorflow]'") from None
    return tf


def enable() -> None:
    """Make sure TensorFlow knows the iptf:// scheme (a no-op when the plugin registered itself)."""
    tf = tensorflow()
    if SCHEME in tf.io.gfile.get_registered_schemes():
        return
    path = plugin_path()
    if not path.exists():
        raise IptfError(f"the IPTF TensorFlow plugin is missing at {path} (reinstall iptf-tensorflow)")
    try:
        tf.experimental.register_filesystem_plugin(str(path))
    except tf.errors.AlreadyExistsError:
        pass
