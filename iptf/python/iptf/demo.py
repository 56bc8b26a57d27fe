"""`make demo`: train a Keras model end to end through IPTF, with data streamed from a peer.

Two isolated nodes on loopback (repos made with `iptf init --profile test`): a provider holds
the 8×8 digits bundled with scikit-learn, written as TFRecords; the trainer's node connects to
it and the model reads the data through tf.data from iptf://ipfs/<cid>, fetched block by block
from the provider. Checkpoints and TensorBoard logs go to iptf://repo/root/demo/, the model is
reloaded with iptf.load_model, and the run ends by printing the CIDs of its data and model, the
reflog of what it read and wrote, and the commands that open the trainer's repo afterwards.

The repos live in one folder (`--dir`, default ~/.cache/iptf/demo; `make demo` uses
build/demo), kept when the demo ends and made anew when it starts again.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

EPOCHS = 8


def write_tfrecords(folder: Path) -> None:
    """The digits as two TFRecord files (train: 1500, test: the rest)."""
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(images))
    splits = {"train.tfrecord": order[:1500], "test.tfrecord": order[1500:]}
    for name, idx in splits.items():
        with tf.io.TFRecordWriter(str(folder / name)) as w:
            for i in idx:
                feature = {
                    "image": tf.train.Feature(float_list=tf.train.FloatList(value=images[i].ravel())),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(digits.target[i])])),
                }
                # deterministic: map entries in key order, so every run writes the same bytes (same CID)
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                w.write(example.SerializeToString(deterministic=True))


def dataset(path: str, batch: int, shuffle: bool):
    import tensorflow as tf

    spec = {"image": tf.io.FixedLenFeature([64], tf.float32), "label": tf.io.FixedLenFeature([], tf.int64)}
    ds = tf.data.TFRecordDataset(path).map(lambda r: tf.io.parse_single_example(r, spec))
    ds = ds.map(lambda e: (tf.reshape(e["image"], (8, 8, 1)), e["label"]))
    if shuffle:
        ds = ds.shuffle(2000, seed=1)
    return ds.batch(batch).prefetch(2)


def iptf_cli(repo: Path, *args: str, check: bool = True) -> str:
    """Run `iptf ARGS` on a repo; return its output."""
    env = dict(os.environ, IPTF_PATH=str(repo))
    env.pop("IPTF_OFFLINE", None)
    return subprocess.run([sys.executable, "-m", "iptf", *args], env=env, check=check, capture_output=True,
                          text=True).stdout.strip()


def default_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "iptf" / "demo"


def fresh_folder(folder: Path) -> None:
    """Stop the nodes of an earlier run's repos and start from an empty folder."""
    for repo in (folder / "provider", folder / "trainer"):
        if (repo / "config").exists():
            env = dict(os.environ, IPTF_PATH=str(repo), IPTF_AUTOSTART="0")
            subprocess.run([sys.executable, "-m", "iptf", "shutdown"], env=env, capture_output=True, check=False)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iptf.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=default_dir(), help="folder of the demo's repos (made anew)")
    folder = parser.parse_args(argv).dir.resolve()
    fresh_folder(folder)
    provider, trainer = folder / "provider", folder / "trainer"
    for repo in (provider, trainer):
        iptf_cli(repo, "init", "--profile", "test")  # loopback only, no bootstrap peers
    os.environ["IPTF_PATH"] = str(trainer)
    os.environ.pop("IPTF_OFFLINE", None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        code = run(folder, provider)
    finally:
        import iptf

        iptf.shutdown()
        iptf_cli(provider, "shutdown", check=False)
    print_next_steps(trainer)
    return code


def print_next_steps(trainer: Path) -> None:
    """The commands that open the run's repo again (its node starts on demand)."""
    iptf = Path(sys.executable).parent / "iptf"
    command = os.path.relpath(iptf) if not os.path.relpath(iptf).startswith("..") else str(iptf)
    prefix = f"IPTF_PATH={shlex.quote(str(trainer))} {command}"
    print("\nthe trainer's repo is kept; open it with:")
    print(f"  {prefix} reflog")
    print(f"  {prefix} tensorboard --logdir iptf://repo/root/demo/logs")


def run(folder: Path, provider: Path) -> int:
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    import keras
    import tensorflow as tf

    import iptf

    iptf.enable()
    local = folder / "digits"
    local.mkdir()
    write_tfrecords(local)
    data_cid = iptf_cli(provider, "add", "-r", "-Q", str(local))
    provider_id = iptf_cli(provider, "id", "-f=<id>")
    address = next(a for a in iptf_cli(provider, "id", "-f=<addrs>").split() if a.startswith("/ip4/127.0.0.1/"))
    iptf_cli(Path(os.environ["IPTF_PATH"]), "swarm", "connect", f"{address}/p2p/{provider_id}")
    data = f"iptf://ipfs/{data_cid}"
    print(f"dataset      {data}  ({', '.join(sorted(p.name for p in local.iterdir()))})")
    print(f"             held by the provider node {provider_id}; streamed from it by the trainer's node"
          f" {iptf.node().peer_id}")

    out = "iptf://repo/root/demo"
    tf.io.gfile.makedirs(out)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ckpt = tf.train.Checkpoint(model=model)
    manager = tf.train.CheckpointManager(ckpt, f"{out}/checkpoints", max_to_keep=2)

    class SaveCheckpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            manager.save(checkpoint_number=epoch + 1)

    model.fit(dataset(f"{data}/train.tfrecord", 64, True), epochs=EPOCHS, verbose=2,
              validation_data=dataset(f"{data}/test.tfrecord", 256, False),
              callbacks=[keras.callbacks.TensorBoard(log_dir=f"{out}/logs"), SaveCheckpoint()])
    iptf.save_model(model, f"{out}/model.keras")  # a .keras file whose CID depends only on the model

    reloaded = iptf.load_model(f"{out}/model.keras")
    _, accuracy = reloaded.evaluate(dataset(f"{data}/test.tfrecord", 256, False), verbose=0)
    print(f"\nreloaded {out}/model.keras: test accuracy {accuracy:.3f}")
    print(f"checkpoints  {', '.join(tf.io.gfile.listdir(out + '/checkpoints'))}")
    print(f"logs         {', '.join(tf.io.gfile.listdir(out + '/logs'))}")
    print(f"\ndata   {iptf.cid_of(data + '/train.tfrecord')}  (train.tfrecord)")
    print(f"model  {iptf.cid_of(out + '/model.keras')}  (model.keras)")
    print(f"run    {iptf.cid_of(out)}  (checkpoints, logs and model)")
    pid = os.getpid()
    cli = [sys.executable, "-m", "iptf"]
    count = len(subprocess.run([*cli, "reflog", f"--pid={pid}"], capture_output=True, text=True,
                               check=True).stdout.splitlines()) - 1
    print(f"\nreflog: this run (pid {pid}) read and wrote {count} iptf:// files; what it read, and its model"
          f" (all: `iptf reflog --pid {pid}`; re-read any entry by its CID):")
    sys.stdout.flush()
    subprocess.run([*cli, "reflog", f"--pid={pid}", "--op=read", "--path=iptf://ipfs/"], check=True)
    subprocess.run([*cli, "reflog", f"--pid={pid}", "--op=write", "--path=model.keras"], check=True)
    return 0 if accuracy > 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
