"""Patches IPTF puts into TensorFlow and Keras modules when, and only if, they are imported.

`iptf-tensorflow.pth` installs this at interpreter start, so it must cost nothing for programs
that never import TensorFlow: it imports no module of its own until a patched one is imported.

- Legacy Keras HDF5 models (`.h5`) on iptf:// paths: h5py opens only local files, so Keras
  would save `model.save("iptf://…/m.h5")` into a local folder named `iptf:`. Saving and
  loading go through a local temporary file copied with tf.io.gfile.
- `GFile.closed`: Keras's `CSVLogger` asks a remote file (any scheme:// path, iptf:// among
  them) whether it is closed, and TensorFlow's file objects have no such attribute.
"""

import sys

H5_MODULE = "keras.src.legacy.saving.legacy_h5_format"
FILE_IO_MODULE = "tensorflow.python.lib.io.file_io"
SCHEME = "iptf://"


def _is_iptf(path):
    import os

    return isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(SCHEME)


def _staged(filepath, use):
    """Run use(local_path) with a local temporary file standing in for an iptf:// filepath."""
    import os
    import shutil
    import tempfile

    staging = tempfile.mkdtemp(prefix="iptf-h5-")
    try:
        return use(os.path.join(staging, "model.h5"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _wrap_save(save):
    import functools

    @functools.wraps(save)
    def save_model_to_hdf5(model, filepath, *args, **kwargs):
        if not _is_iptf(filepath):
            return save(model, filepath, *args, **kwargs)
        import tensorflow as tf

        def use(local):
            result = save(model, local, *args, **kwargs)
            tf.io.gfile.copy(local, str(filepath), overwrite=True)
            return result

        return _staged(filepath, use)

    return save_model_to_hdf5


def _wrap_load(load):
    import functools

    @functools.wraps(load)
    def load_model_from_hdf5(filepath, *args, **kwargs):
        if not _is_iptf(filepath):
            return load(filepath, *args, **kwargs)
        import tensorflow as tf

        def use(local):
            tf.io.gfile.copy(str(filepath), local)
            return load(local, *args, **kwargs)

        return _staged(filepath, use)

    return load_model_from_hdf5


def _patch_h5(module):
    module.save_model_to_hdf5 = _wrap_save(module.save_model_to_hdf5)
    module.load_model_from_hdf5 = _wrap_load(module.load_model_from_hdf5)


def _patch_file_io(module):
    file_io = module.FileIO
    if hasattr(file_io, "closed"):
        return  # a TensorFlow that has it already
    close = file_io.close

    def close_and_mark(self):
        close(self)
        self._iptf_closed = True

    file_io.close = close_and_mark
    file_io.closed = property(lambda self: getattr(self, "_iptf_closed", False),
                              doc="Whether close() was called (as for Python's own files).")


PATCHES = {H5_MODULE: _patch_h5, FILE_IO_MODULE: _patch_file_io}


class _Finder:
    """A meta path finder that patches each module of PATCHES right after it first executes."""

    def find_spec(self, name, path, target=None):
        patch = PATCHES.get(name)
        if patch is None:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            patch(module)

        spec.loader.exec_module = exec_and_patch
        return spec


def install():
    """Install the hooks; a module of PATCHES already imported is patched now."""
    for name, patch in PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
