"""Chapter 4: variational autoencoders trained on their own samples.

The paper's convolutional VAE for 28x28 images (latent dimension 20, 647,081 parameters) and a small fully
connected one for 8x8 digits; training with a progress bar, sampling (decoder means), encoding (latent means);
and the chapter's two recursive protocols:

- :func:`recursive_fresh`, the paper's: every generation is a fresh VAE, and every one of its training batches
  is a fresh batch of decoder means of the previous generation's VAE (checkpoints: one safetensors file per
  generation, resumable);
- :func:`family`, a fixed synthetic dataset per generation through :func:`collapsebook.loop.run`, where the
  loop's policies (replace, accumulate, a kept fraction of real data) apply.

Images are float arrays of shape ``(n, H, W)`` with values in [0, 1]. Randomness comes from numpy
generators (``numpy.random.Generator``), turned into seeded ``torch.Generator`` objects; the device is the GPU when there
is one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from . import store
from ._checks import check_int, check_positive, check_range, check_rng
from .devices import best_device as device
from .devices import set_threads, torch_generator  # noqa: F401  (part of this module's API)
from .loop import Family, generation_rng

LATENT_DIM = 20  # the paper's latent dimension
SMALL_LATENT_DIM = 8  # the 8x8 model's
IMAGE_SIZES = (8, 28)


# ---- the models ----

class VAE(nn.Module):
    """A VAE with a Gaussian encoder ``q(z|x) = N(mu, diag(exp(logvar)))`` and a Bernoulli-mean decoder."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, image_size: int, latent_dim: int, width: int):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.image_size, self.latent_dim, self.width = image_size, latent_dim, width

    def config(self) -> dict[str, int]:
        """What :func:`build` needs to make this architecture again."""
        return {"image_size": self.image_size, "latent_dim": self.latent_dim, "width": self.width}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent means and log-variances of images ``x`` of shape ``(n, H, W)``."""
        return self.encoder(x[:, None]).chunk(2, dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder means (pixel probabilities) of latents ``z``: shape ``(n, H, W)``."""
        return self.decoder(z).view(-1, self.image_size, self.image_size)

    def forward(self, x: torch.Tensor, generator: torch.Generator):
        mu, logvar = self.encode(x)
        noise = torch.randn(mu.shape, generator=generator, device=mu.device)
        return self.decode(mu + noise * torch.exp(0.5 * logvar)), mu, logvar


def conv_vae(latent_dim: int = LATENT_DIM, width: int = 64) -> VAE:
    """The paper's VAE for 28x28 images: two strided convolutions each way, ``width`` and ``2 * width``
    channels (the paper's 64: 647,081 parameters); the book scale uses a narrower one."""
    latent_dim, width = check_int("latent_dim", latent_dim, 1), check_int("width", width, 1)
    encoder = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.ReLU(), nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 2 * latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, 2 * width * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(width, 1, 4, 2, 1),
        nn.Sigmoid(),
    )
    return VAE(encoder, decoder, 28, latent_dim, width)


def small_vae(latent_dim: int = SMALL_LATENT_DIM, width: int = 256) -> VAE:
    """A fully connected VAE for 8x8 digits (one hidden layer of ``width`` units each way), for the ci scale."""
    latent_dim, width = check_int("latent_dim", latent_dim, 1), check_int("width", width, 1)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 2 * latent_dim))
    decoder = nn.Sequential(nn.Linear(latent_dim, width), nn.ReLU(), nn.Linear(width, 64), nn.Sigmoid())
    return VAE(encoder, decoder, 8, latent_dim, width)


def build(image_size: int, rng: np.random.Generator, latent_dim: int | None = None,
          width: int | None = None) -> VAE:
    """A freshly initialised VAE for ``image_size`` (28: :func:`conv_vae`, 8: :func:`small_vae`, each with its
    default sizes unless given) on the device; the initial weights are drawn from ``rng``, leaving torch's
    global generator untouched."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size!r}")
    rng = check_rng("rng", rng)
    make = conv_vae if image_size == 28 else small_vae
    sizes = {k: v for k, v in {"latent_dim": latent_dim, "width": width}.items() if v is not None}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**63)))
        model = make(**sizes)
    return model.to(device())


def n_parameters(model: nn.Module) -> int:
    """How many trainable numbers the model has."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---- data in, data out ----

def check_images(images, image_size: int | None = None) -> np.ndarray:
    """``images`` as float32 of shape ``(n, H, H)`` with ``n >= 1``, ``H`` in :data:`IMAGE_SIZES` (or equal to
    ``image_size``) and values in [0, 1]; else ValueError naming ``images``."""
    images = np.asarray(images, dtype=np.float32)
    allowed = IMAGE_SIZES if image_size is None else (image_size,)
    if images.ndim != 3 or images.shape[1] != images.shape[2] or images.shape[1] not in allowed:
        raise ValueError(f"images must have shape (n, H, H) with H in {allowed}, got {images.shape}")
    if images.shape[0] == 0:
        raise ValueError("images must hold at least one image, got an empty array")
    if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
        raise ValueError("images must have finite values in [0, 1]")
    return images


def loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
         beta: float = 1.0) -> torch.Tensor:
    """The negative ELBO per image: binary cross-entropy summed over pixels plus ``beta`` times the KL
    divergence of ``q(z|x)`` from ``N(0, I)`` (the paper's beta = 1), averaged over the batch."""
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + beta * kl) / x.shape[0]


def image_batches(images: np.ndarray, batch_size: int, epochs: int, generator: torch.Generator) -> Iterator:
    """Mini-batches of ``images`` on the generator's device, reshuffled every epoch."""
    # read only, but torch warns about a read-only array: np.require copies only such an array
    data = torch.as_tensor(np.require(images, requirements="W"), device=generator.device)
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator, device=generator.device)
        yield from (data[order[i:i + batch_size]] for i in range(0, len(data), batch_size))


def model_batches(teacher: VAE, batch_size: int, n_batches: int, generator: torch.Generator) -> Iterator:
    """``n_batches`` fresh batches of the teacher's decoder means at ``z ~ N(0, I)`` (the paper's protocol)."""
    for _ in range(n_batches):
        z = torch.randn((batch_size, teacher.latent_dim), generator=generator, device=generator.device)
        with torch.no_grad():
            batch = teacher.decode(z)
        yield batch  # outside no_grad: the consumer trains while this generator waits here


def n_batches(n_images: int, batch_size: int, epochs: int) -> int:
    """How many optimiser steps ``epochs`` passes over ``n_images`` take."""
    n_images, batch_size = check_int("n_images", n_images, 1), check_int("batch_size", batch_size, 1)
    return check_int("epochs", epochs, 1) * math.ceil(n_images / batch_size)


def train(model: VAE, batches, total: int, generator: torch.Generator, *, lr: float = 1e-3,
          weight_decay: float = 1e-5, beta: float = 1.0, progress: bool = True) -> np.ndarray:
    """Adam on the negative ELBO (KL weight ``beta``) over ``batches`` (``total`` of them); returns the loss
    of every step."""
    weight_decay = check_range("weight_decay", weight_decay, 0.0, math.inf)
    optimiser = torch.optim.Adam(model.parameters(), lr=check_positive("lr", lr), weight_decay=weight_decay)
    beta = check_positive("beta", beta)
    model.train()
    losses = []
    for x in tqdm(batches, total=total, desc="training", leave=False, disable=not progress):
        recon, mu, logvar = model(x, generator)
        value = loss(recon, x, mu, logvar, beta)
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        losses.append(value.item())
    model.eval()
    return np.array(losses)


def fit(images, rng: np.random.Generator, *, epochs: int = 30, n_steps: int | None = None,
        batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 1e-5, beta: float = 1.0,
        width: int | None = None, progress: bool = True) -> VAE:
    """A fresh VAE trained on ``images`` for ``epochs`` (the paper's optimiser settings by default), or for
    exactly ``n_steps`` optimiser steps when given, whatever the number of images (equal compute per
    generation, as in the paper's protocol). ``beta``: the weight of the KL term (see :func:`loss`);
    ``width``: see :func:`conv_vae` and :func:`small_vae`."""
    images = check_images(images)
    batch_size = check_int("batch_size", batch_size, 1)
    if n_steps is None:
        n_steps = n_batches(len(images), batch_size, check_int("epochs", epochs, 1))
    n_steps = check_int("n_steps", n_steps, 1)
    model = build(images.shape[1], rng, width=width)
    generator = torch_generator(rng)
    passes = math.ceil(n_steps / math.ceil(len(images) / batch_size))
    batches = itertools.islice(image_batches(images, batch_size, passes, generator), n_steps)
    model.losses = train(model, batches, n_steps, generator, lr=lr, weight_decay=weight_decay, beta=beta,
                         progress=progress)
    return model


@torch.no_grad()
def sample(model: VAE, n: int, rng: np.random.Generator, batch_size: int = 4096) -> np.ndarray:
    """``n`` decoder means at latents ``z ~ N(0, I)``: float32 images of shape ``(n, H, W)``."""
    n = check_int("n", n, 1)
    generator = torch_generator(rng, next(model.parameters()).device)
    out = []
    for start in range(0, n, batch_size):
        z = torch.randn((min(batch_size, n - start), model.latent_dim), generator=generator,
                        device=generator.device)
        out.append(model.decode(z).cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def encode(model: VAE, images, batch_size: int = 4096) -> np.ndarray:
    """The latent means ``mu(x)`` of ``images`` under ``model``'s encoder: shape ``(n, latent_dim)``."""
    images = check_images(images, model.image_size)
    where = next(model.parameters()).device
    means = [model.encode(torch.as_tensor(images[i:i + batch_size], device=where))[0].cpu().numpy()
             for i in range(0, len(images), batch_size)]
    return np.concatenate(means)


def tile(images, n_cols: int, pad: int = 1) -> np.ndarray:
    """Images ``(n, H, W)`` laid out on one canvas, ``n_cols`` per row, separated by ``pad`` blank pixels."""
    images = np.asarray(images)
    n_cols = check_int("n_cols", n_cols, 1)
    n_rows = math.ceil(len(images) / n_cols)
    h, w = images.shape[1] + pad, images.shape[2] + pad
    canvas = np.zeros((n_rows * h + pad, n_cols * w + pad), dtype=images.dtype)
    for i, image in enumerate(images):
        row, col = divmod(i, n_cols)
        canvas[pad + row * h: (row + 1) * h, pad + col * w: (col + 1) * w] = image
    return canvas


# ---- models as arrays: the loop's history, checkpoints ----

def to_arrays(model: VAE) -> dict[str, np.ndarray]:
    """The model's weights as named numpy arrays, with its image size and latent dimension."""
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return {**arrays, **{k: np.array(v) for k, v in model.config().items()}}


def from_arrays(arrays) -> VAE:
    """The VAE that :func:`to_arrays` described."""
    arrays = dict(arrays)
    config = {k: int(arrays.pop(k)) for k in ("image_size", "latent_dim", "width")}
    model = build(rng=np.random.default_rng(0), **config)
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in arrays.items()})
    return model.eval()


def save(model: VAE, path, metadata: dict | None = None) -> None:
    """Write the model (and JSON-able ``metadata``) to a safetensors file, atomically."""
    path = Path(path)
    header = {"config": json.dumps(model.config()), "metadata": json.dumps(metadata or {})}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with store.writing(path) as tmp:
        save_file(tensors, tmp, metadata=header)


def load(path) -> tuple[VAE, dict]:
    """Read a model written by :func:`save`; returns it and its metadata. A truncated or edited file raises
    :class:`collapsebook.store.DamagedFile` naming it."""
    from safetensors import SafetensorError, safe_open

    if not Path(path).is_file():
        raise ValueError(f"path must be a model file written by vae.save, but {path} is not a file")
    try:
        with safe_open(path, framework="pt") as f:
            header = f.metadata() or {}
        model = build(rng=np.random.default_rng(0), **json.loads(header["config"]))
        model.load_state_dict(load_file(path, device=str(next(model.parameters()).device)))
        return model.eval(), json.loads(header["metadata"])
    except (SafetensorError, KeyError, TypeError, ValueError, RuntimeError) as error:
        raise store.DamagedFile(f"{path} is damaged ({type(error).__name__}: {error}); delete it to train that "
                                "generation again (a resumed run redoes it)") from error


# ---- the two recursive protocols ----

def family(progress: bool = True, **settings) -> Family:
    """VAEs for :func:`collapsebook.loop.run`: every generation a fresh VAE trained by :func:`fit` with
    ``settings`` on a fixed dataset, which the loop's policy forms from samples and original images."""
    return Family(fit=lambda data, rng: fit(data, rng, progress=progress, **settings), sample=sample,
                  to_arrays=to_arrays, from_arrays=from_arrays)


def fit_to_teacher(teacher: VAE, rng: np.random.Generator, n_steps: int, *, batch_size: int = 256,
                   lr: float = 1e-3, weight_decay: float = 1e-5, beta: float = 1.0, progress: bool = True) -> VAE:
    """A fresh VAE of the teacher's architecture trained for ``n_steps``, each step on a fresh batch of
    the teacher's decoder means (one generation of the paper's protocol)."""
    n_steps, batch_size = check_int("n_steps", n_steps, 1), check_int("batch_size", batch_size, 1)
    model, generator = build(rng=rng, **teacher.config()), torch_generator(rng)
    model.losses = train(model, model_batches(teacher, batch_size, n_steps, generator), n_steps, generator,
                         lr=lr, weight_decay=weight_decay, beta=beta, progress=progress)
    return model


def recursive_fresh(images, n_generations: int, *, epochs: int = 30, batch_size: int = 256, lr: float = 1e-3,
                    weight_decay: float = 1e-5, beta: float = 1.0, width: int | None = None, seed: int = 0,
                    checkpoint_dir=None, progress: bool = True) -> list[VAE]:
    """The paper's protocol: generation 0 fits ``images`` for ``epochs``; every later generation is a fresh
    VAE trained for as many steps, each on a fresh batch of decoder means of the previous generation.

    Returns the VAEs of generations ``0 .. n_generations``. With ``checkpoint_dir``, each finished generation
    is saved there as ``generation_NNNNN.safetensors`` and a later call resumes after the last one; the folder
    records every setting and the data's fingerprint (:func:`collapsebook.store.claim`) and refuses a run with
    others; one process writes it at a time (:func:`collapsebook.store.lock`), while others may read the
    generations it has finished.
    Generation 0 equals generation 0 of :func:`family` run by the loop with ``n_steps`` set to the same steps.
    """
    images = check_images(images)
    n_generations = check_int("n_generations", n_generations, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    steps = n_batches(len(images), batch_size, check_int("epochs", epochs, 1))
    optimiser = {"batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "beta": beta,
                 "progress": progress}
    config = {"seed": seed, "steps": steps, "batch_size": batch_size, "n_images": len(images), "beta": beta}
    folder = None if checkpoint_dir is None else Path(checkpoint_dir)
    writes = folder is not None and not _all_saved(folder, n_generations)  # reading needs no lock: writes are atomic
    with store.lock(folder) if writes else contextlib.nullcontext():
        settings = {**config, "lr": lr, "weight_decay": weight_decay, "width": width, "epochs": epochs}
        models = [] if folder is None else _load_finished(folder, n_generations, config, settings, images)
        for g in tqdm(range(len(models), n_generations + 1), desc="generations", disable=not progress):
            rng = generation_rng(seed, g)
            if g == 0:
                model = fit(images, rng, n_steps=steps, width=width, **optimiser)
            else:
                model = fit_to_teacher(models[-1], rng, steps, **optimiser)
            models.append(model)
            if folder is not None:
                save(model, folder / f"generation_{g:05d}.safetensors", {**config, "generation": g,
                     "last_epoch_loss": float(model.losses[-(steps // epochs):].mean()),
                     "losses": model.losses.tolist()})
    return models


def _all_saved(folder: Path, n_generations: int) -> bool:
    """Whether ``folder`` holds its settings and generations ``0 .. n_generations``: then nothing is written."""
    names = [store.SETTINGS] + [f"generation_{g:05d}.safetensors" for g in range(n_generations + 1)]
    return all((folder / name).is_file() for name in names)


def _load_finished(folder: Path, n_generations: int, config: dict, settings: dict, images) -> list[VAE]:
    """The VAEs already saved in ``folder`` by a run with the same ``settings`` and ``images`` (checked before
    anything is written; each file's ``config`` too), in generation order."""
    store.claim(folder, {**settings, "data": store.fingerprint(images)})
    models = []
    for g in range(n_generations + 1):
        path = folder / f"generation_{g:05d}.safetensors"
        if not path.exists():
            break
        model, metadata = load(path)
        saved = {k: metadata.get(k) for k in config}
        if saved != config:
            raise ValueError(f"checkpoint_dir {folder} holds a run with {saved}, not {config}")
        if "losses" in metadata:  # its training curve, as a fresh run has it (files before 2026-12 lack it)
            model.losses = np.array(metadata["losses"])
        models.append(model)
    return models
