"""The test harness: isolated repos and their nodes, test data, processes, local services.

    harness.repo        IptfRepo (a repo in a temporary folder; `iptf` run against it; its node
                        stopped by PID), IPTF (the command line that runs `iptf`)
    harness.data        random_bytes
    harness.processes   pid_alive, wait_until
    harness.web         free_port, get_json, wait_for_tensorboard_run
    harness.tf_support  TensorFlow in fresh processes; the session's repo
    harness.venvs       new virtual environments with the built wheel
    harness.netns       the network-namespace test bed (root)
    harness.docscript   a document's shell blocks as one script

The first four are re-exported here: `from harness import IptfRepo, random_bytes`.
"""

from .data import random_bytes
from .processes import pid_alive, wait_until
from .repo import IPTF, IptfRepo
from .web import free_port, get_json, wait_for_tensorboard_run

__all__ = ["IPTF", "IptfRepo", "free_port", "get_json", "pid_alive", "random_bytes", "wait_for_tensorboard_run",
           "wait_until"]
