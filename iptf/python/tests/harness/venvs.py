"""Virtual environments made as users make them: pip installs the built wheel, outside the tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .repo import IptfRepo

ROOT = Path(__file__).resolve().parents[4]
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def built_wheel() -> Path:
    wheels = sorted((ROOT / "dist").glob("iptf_tensorflow-*.whl"))
    assert len(wheels) == 1, f"expected one wheel from `make wheel` in {ROOT / 'dist'}, found {wheels}"
    return wheels[0]


class Venv:
    """A virtual environment in a temporary folder; its commands run from another folder."""

    def __init__(self, path: Path, cwd: Path) -> None:
        self.path = path
        self.cwd = cwd
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
        self.python = str(path / "bin" / "python")

    def site_packages(self) -> Path:
        return next((self.path / "lib").glob("python3*/site-packages"))

    def env(self, repo: IptfRepo | None = None) -> dict[str, str]:
        """The environment a user of this venv has: its bin first, nothing of the source tree."""
        base = repo.env if repo else os.environ
        env = {k: v for k, v in base.items() if k not in ("PYTHONPATH", "IPTF_NODE_BINARY", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.path / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        env["VIRTUAL_ENV"] = str(self.path)
        env.update(QUIET_TF)
        return env

    def pip(self, *args: str) -> None:
        proc = subprocess.run([self.python, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                              capture_output=True, cwd=self.cwd, env=self.env(), timeout=900)
        assert proc.returncode == 0, f"pip {' '.join(args)}: {proc.stderr.decode()[-3000:]}"

    def run(self, args: list[str], repo: IptfRepo, timeout: float = 300,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(args, capture_output=True, cwd=self.cwd, env=self.env(repo), timeout=timeout,
                              input=input, check=False)
        repo._note_pid()
        return proc

    def py(self, code: str, repo: IptfRepo) -> subprocess.CompletedProcess[bytes]:
        return self.run([self.python, "-c", code], repo)


def make_env(tmp: Path, requirement: str, *extra: str) -> Venv:
    cwd = tmp / "work"
    cwd.mkdir()
    env = Venv(tmp / "venv", cwd)
    env.pip("install", requirement, *extra)
    return env


def make_repo(env: Venv, path: Path) -> IptfRepo:
    """An isolated, offline repo made by the venv's own `iptf init`."""
    repo = IptfRepo(path)
    proc = env.run(["iptf", "init", "--profile", "test"], repo)
    assert proc.returncode == 0, proc.stderr.decode()
    return repo
