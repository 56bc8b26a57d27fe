"""The `iptf` command surface: help, errors, exit codes, start-up cost."""

from __future__ import annotations

import subprocess
import sys

from harness import IPTF, IptfRepo


def test_help_lists_kubo_and_iptf_commands(repo: IptfRepo) -> None:
    out = repo.out("--help")
    for kubo_command in ("add", "cat", "get", "pin", "dag", "files", "name", "key", "swarm", "daemon"):
        assert f"\n  {kubo_command} " in out or f"\n    {kubo_command} " in out, kubo_command
    assert "IPTF COMMANDS" in out
    own = out.split("IPTF COMMANDS")[1]
    for iptf_command in ("cache", "python", "reflog", "serve", "status", "tensorboard", "writeback"):
        assert f"\n  {iptf_command} " in own, iptf_command
    assert "iptf <command> --help" in out
    assert repo.out("cache", "--help").startswith("USAGE\n  iptf cache - ")


def test_bad_command_is_one_line_error_with_nonzero_exit(repo: IptfRepo) -> None:
    proc = repo.run("cat", "not-a-cid", check=False)
    assert proc.returncode == 1
    err = proc.stderr.decode().strip()
    assert err.startswith("Error:") and "Traceback" not in err
    assert len(err.splitlines()) <= 2  # kubo adds a usage hint on some errors


def test_missing_file_exit_code_and_message(repo: IptfRepo, tmp_path) -> None:
    proc = repo.run("add", str(tmp_path / "absent.bin"), check=False)
    assert proc.returncode == 1
    assert "absent.bin" in proc.stderr.decode() and "Traceback" not in proc.stderr.decode()


def test_python_error_is_one_line(tmp_path) -> None:
    env = {"IPTF_NODE_BINARY": str(tmp_path / "missing"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([*IPTF, "version"], capture_output=True, env=env, check=False)
    assert proc.returncode == 1
    assert proc.stderr.decode().count("\n") == 1 and "Traceback" not in proc.stderr.decode()


def test_cli_does_not_import_tensorflow() -> None:
    code = ("import importlib, sys, iptf, iptf.cli; from iptf.commands import COMMANDS\n"
            "for name in COMMANDS: importlib.import_module('iptf.commands.' + name)\n"
            "print('tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_a_kubo_command_starts_without_the_package_s_heavy_imports() -> None:
    # What `iptf cat …` imports before it hands over to the node (execv, replaced here by a print):
    # only the command table and the binary's path, not the client, HTTP or subprocess. (The
    # interpreter's start-up hook, iptf._hooks, has its own benchmark: perf/test_startup.py.)
    code = ("import os, sys\n"
            "sys.argv = ['iptf', 'cat', 'bafkqaaa']\n"
            "def show(*args):\n"
            "    print(' '.join(sorted(m for m in sys.modules if m.startswith('iptf') or m in heavy)))\n"
            "    sys.exit(0)\n"
            "heavy = {'subprocess', 'pathlib', 'dataclasses', 'http.client', 'json', 'typing'}\n"
            "os.execv = show\n"
            "from iptf.cli import main\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported = [m for m in proc.stdout.split() if m != "iptf._hooks"]
    assert imported == ["iptf", "iptf._binary", "iptf.cli", "iptf.commands", "iptf.errors"]


def test_kubo_exit_codes_and_output_pass_through(repo: IptfRepo) -> None:
    assert repo.out("version").startswith("iptf version ") and "(kubo 0.43" in repo.out("version")
    proc = repo.run("pin", "ls", "--type=bogus", check=False)
    assert proc.returncode != 0


def test_config_profile_apply_unixfs_v1_2025(repo: IptfRepo, tmp_path) -> None:
    repo.run("config", "profile", "apply", "unixfs-v1-2025")
    f = tmp_path / "f.bin"
    f.write_bytes(b"hello world")
    # unixfs-v1-2025: CIDv1 with raw leaves, so a one-chunk file is a single raw block.
    assert repo.out("add", "-Q", str(f)) == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


def test_iptf_python_runs_a_script_with_iptf_enabled(repo: IptfRepo, tmp_path) -> None:
    script = tmp_path / "train.py"
    script.write_text("import sys, tensorflow as tf\n"
                      "tf.io.gfile.GFile('iptf://repo/root/from-script.txt', 'w').write(sys.argv[1])\n"
                      "print(tf.io.gfile.GFile('iptf://repo/root/from-script.txt').read())\n")
    proc = repo.run("python", str(script), "argument-1", env=dict(repo.env, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.stdout.decode().strip() == "argument-1"
    assert "train.py" in repo.out("reflog", "--path=from-script.txt")


def test_iptf_python_missing_script_is_one_line(repo: IptfRepo, tmp_path) -> None:
    proc = repo.run("python", str(tmp_path / "absent.py"), check=False)
    assert proc.returncode == 1 and proc.stderr.decode().count("\n") == 1
    assert "absent.py" in proc.stderr.decode()


def test_iptf_tensorboard_refuses_load_fast_true(repo: IptfRepo) -> None:
    for args in (["--load_fast=true"], ["--load_fast", "true"]):
        proc = repo.run("tensorboard", "--logdir", "iptf://repo/root/logs", *args, check=False)
        assert proc.returncode == 1
        assert "--load_fast=true" in proc.stderr.decode() and proc.stderr.decode().count("\n") == 1


def test_status_help_json_and_bad_option(repo: IptfRepo) -> None:
    assert repo.out("status", "--help").startswith("usage: iptf status")
    bad = repo.run("status", "--bogus", check=False)
    assert bad.returncode == 1 and bad.stderr.decode().count("\n") == 1 and "Traceback" not in bad.stderr.decode()
    repo.out("id")
    info = __import__("json").loads(repo.out("status", "--json"))
    assert info["OnDemand"] is True and info["Repo"] == str(repo.path)


def test_internal_write_takes_only_the_repo_staging_files(repo: IptfRepo, tmp_path) -> None:
    """`iptf iptf write --file` with any file but one of the repo's staging files is refused: the
    node would take the file over (queued writes keep it as a spare), so a user's file never moves."""
    mine = tmp_path / "v.txt"
    mine.write_bytes(b"my own bytes")
    staging = repo.path / "staging"
    staging.mkdir(exist_ok=True)
    outside_named_like_staging = tmp_path / "write-abc"
    outside_named_like_staging.write_bytes(b"also mine")
    link = staging / "write-link"
    link.symlink_to(mine)
    for path in (mine, outside_named_like_staging, link, staging / ".." / "staging" / "write-link"):
        for queue in ([], ["--queue"]):
            proc = repo.run("iptf", "write", "iptf://repo/root/v.txt", f"--file={path}", *queue, check=False)
            err = proc.stderr.decode()
            assert proc.returncode == 1 and err.count("\n") == 1, err
            assert "InvalidArgument" in err and "not" in err, err
    assert mine.read_bytes() == b"my own bytes" and outside_named_like_staging.read_bytes() == b"also mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "v.txt", "write-abc"]
    assert not list(staging.glob("spares/*"))
    assert repo.run("files", "stat", "/v.txt", check=False).returncode != 0

    # The repo's own staging file is taken.
    own = staging / "write-own"
    own.write_bytes(b"staged")
    proc = repo.run("iptf", "write", "iptf://repo/root/v.txt", f"--file={own}", check=False)
    assert proc.returncode == 0, proc.stderr
    assert repo.out("cat", "/ipfs/" + repo.out("files", "stat", "--hash", "/v.txt")) == "staged"


def test_one_line_errors_for_a_missing_module_a_bad_logdir_and_a_negative_count(repo: IptfRepo) -> None:
    plain = subprocess.run([sys.executable, "-m", "nonexistent_module"], capture_output=True, check=False)
    proc = repo.run("python", "-m", "nonexistent_module", check=False)
    assert (proc.returncode, proc.stderr) == (plain.returncode, plain.stderr) == (1, plain.stderr), proc.stderr
    assert plain.stderr.decode().count("\n") == 1

    proc = repo.run("tensorboard", "--logdir", "iptf://ipfs/notacid", "--port", "0", check=False, timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "iptf://ipfs/notacid" in err and "invalid" in err.lower(), err

    for args in (["--last", "-5"], ["--last=-5"], ["--last=0"]):
        proc = repo.run("reflog", *args, check=False)
        err = proc.stderr.decode()
        assert proc.returncode == 1 and err.count("\n") == 1 and "--last" in err, err
    assert repo.run("reflog", "--last", "5").returncode == 0


def test_every_module_of_the_package_imports() -> None:
    """A module that names one that no longer exists fails here, not in a user's hands."""
    code = ("import importlib, pkgutil, iptf\n"
            "for m in pkgutil.walk_packages(iptf.__path__, 'iptf.'):\n"
            "    if not m.name.endswith('__main__'):  # that one runs the command\n"
            "        importlib.import_module(m.name)\n"
            "print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr
