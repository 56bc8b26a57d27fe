"""Wheel build hook: the wheel carries a native node and plugin, so it is tagged for this platform.

The tag written here is the plain platform (`linux_x86_64`, `macosx_…_arm64`); `make wheel` then
has auditwheel prove which manylinux tag the binaries really meet. The plugin's file name follows
the platform's shared-library suffix, which is what TensorFlow looks for in `tensorflow-plugins/`.
`IPTF_WHEEL_PLUGIN` names another build of the plugin to ship (make wheel's, built for an older glibc).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PLUGIN_BASENAME = "libiptf_fs"


def plugin_suffix() -> str:
    """The shared-library suffix of this platform's plugin."""
    return ".dylib" if sys.platform == "darwin" else ".so"


def platform_tag() -> str:
    """This interpreter's platform as a wheel tag, e.g. linux_x86_64 or macosx_11_0_arm64."""
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


class NativeBuildHook(BuildHookInterface):
    """Marks the wheel platform-specific and adds the prebuilt plugin at `tensorflow-plugins/`."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        name = PLUGIN_BASENAME + plugin_suffix()
        plugin = Path(os.environ.get("IPTF_WHEEL_PLUGIN") or Path(self.root) / "build" / "tensorflow-plugins" / name)
        node = Path(self.root) / "iptf" / "python" / "iptf" / "bin" / "iptf-node"
        missing = [str(p) for p in (plugin, node) if not p.is_file()]
        if missing:
            raise RuntimeError(f"build the native parts first (make wheel): missing {', '.join(missing)}")
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{platform_tag()}"
        # TensorFlow dlopens every library in site-packages/tensorflow-plugins/ at import.
        build_data["force_include"][str(plugin)] = f"tensorflow-plugins/{name}"
