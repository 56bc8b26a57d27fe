"""Keras and TensorFlow models by any fingerprint or path.

`load_model` tells the format from the content, not the name, so the CID `iptf.cid_of` gives
for a `.keras` file, a legacy `.h5` model or a SavedModel directory loads as it is.

`save_model` writes a `.keras` file whose bytes depend only on the model: Keras's own save puts
the time of saving into the file twice (`date_saved` in `metadata.json`, and the zip entry time
of `model.weights.h5`), so each save of the same weights gets a new CID. `.weights.h5` files
(`model.save_weights`) are already stable.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from typing import Any

from .errors import InvalidArgument, NotFound
from .tf import enable, tensorflow

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# The zip format's earliest time: what every entry of a stable `.keras` file is dated.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def load_model(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """Load a model from an iptf:// URI (a CID included) or a local path.

    A `.keras` file or a legacy HDF5 model is loaded with `keras.models.load_model`; a
    SavedModel directory with `tf.saved_model.load`. `kwargs` go to the loader.
    """
    tf = tensorflow()
    enable()
    path = os.fspath(path)
    if not tf.io.gfile.exists(path):
        raise NotFound(f"{path}: no such model")
    if tf.io.gfile.isdir(path):
        if tf.io.gfile.exists(path.rstrip("/") + "/saved_model.pb"):
            return tf.saved_model.load(path, **kwargs)
        raise InvalidArgument(f"{path}: a directory without saved_model.pb is not a SavedModel")
    with tf.io.gfile.GFile(path, "rb") as f:
        head = f.read(len(HDF5_MAGIC))
    if head.startswith(ZIP_MAGIC):
        return _load_staged(path, ".keras", kwargs)
    if head == HDF5_MAGIC:
        return _load_staged(path, ".h5", kwargs)
    raise InvalidArgument(f"{path}: neither a .keras file, an HDF5 model nor a SavedModel directory")


def _load_staged(path: str, suffix: str, kwargs: dict[str, Any]) -> Any:
    """Keras picks its loader by the file name's ending: give it a local copy with the right one."""
    import keras

    if not path.startswith("iptf://") and path.endswith(suffix):
        return keras.models.load_model(path, **kwargs)
    tf = tensorflow()
    staging = tempfile.mkdtemp(prefix="iptf-model-")
    try:
        local = os.path.join(staging, "model" + suffix)
        tf.io.gfile.copy(path, local, overwrite=True)
        if suffix == ".h5":
            _check_whole_model(path, local)
        return keras.models.load_model(local, **kwargs)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_whole_model(path: str, local: str) -> None:
    import h5py

    with h5py.File(local, "r") as f:
        if "model_config" not in f.attrs:
            raise InvalidArgument(f"{path}: an HDF5 file of weights only; build the model and call load_weights")


def save_model(model: Any, path: str | os.PathLike[str]) -> str:
    """Save a Keras model as a `.keras` file whose bytes, and so CID, depend only on the model.

    Returns the file's `iptf://ipfs/<cid>` when `path` is an iptf:// URI, else `path`.
    """
    tf = tensorflow()
    enable()
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise InvalidArgument(f"{path}: save_model writes .keras files")
    staging = tempfile.mkdtemp(prefix="iptf-model-")
    try:
        local = os.path.join(staging, "model.keras")
        model.save(local)
        stable = _stable_zip(local)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(stable)
    if path.startswith("iptf://"):
        from .content import cid_of

        return cid_of(path)
    return path


def _renumber_shared_objects(config: Any) -> Any:
    """config with each `shared_object_id` replaced by its rank of first appearance: Keras only
    matches the ids with each other when loading, so the same numbering means the same model."""
    ranks: dict[Any, int] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (ranks.setdefault(v, len(ranks) + 1) if k == "shared_object_id" else walk(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(config)


def _stable_zip(keras_file: str) -> bytes:
    """The `.keras` file with what varies between saves of the same model taken out: no
    `date_saved`, every entry at ZIP_EPOCH, shared objects numbered in order (Keras numbers them
    by their memory address)."""
    out = io.BytesIO()
    with zipfile.ZipFile(keras_file) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta.pop("date_saved", None)
                data = json.dumps(meta, sort_keys=True).encode()
            elif info.filename == "config.json":
                data = json.dumps(_renumber_shared_objects(json.loads(data))).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            dst.writestr(entry, data)
    return out.getvalue()
