"""Benchmark of chapter 4 on CPU: training throughput of the paper's VAE (647,081 parameters) with
``collapsebook.vae.train`` against the plainest fair reference, a hand-written PyTorch loop with the same model,
the same batches, the same loss (BCE summed over pixels + KL, averaged over the batch) and the same optimiser
(Adam, lr 1e-3, weight decay 1e-5). Every training starts from the same initial weights; the two are timed
alternately (benchmarks/_harness.py: threads pinned and reported, median and spread of >= 5 repeats). From the
package's median rate it projects the chapter's ``paper`` preset: the paper's protocol to its generation 20 (our
21) and the chains comparing replace with accumulate.

    .venv/bin/python benchmarks/bench_vae.py     (about a minute on one core)
"""

from __future__ import annotations

import numpy as np
from _harness import Record, Spread, compare, pin_threads

from collapsebook import vae
from collapsebook.experiments.vae import POLICIES, PRESETS

import torch  # noqa: E402

BATCH = 256  # the paper's batch size
STEPS = 4  # optimiser steps per timed training


def paper_fits(preset=PRESETS["paper"]) -> int:
    """How many VAEs the paper preset trains: the protocol's generations 0..n, and per chain a generation 0 and
    each policy's generations (the first chain's generation 0 is the protocol's)."""
    chains = preset["policy_chains"] * (1 + len(POLICIES) * preset["policy_generations"])
    return preset["n_generations"] + 1 + chains - 1


PAPER_IMAGES = PRESETS["paper"]["n_train"] * PRESETS["paper"]["epochs"] * paper_fits()


def plain_loop(model, batches):
    """The reference: the textbook VAE training loop, written out."""
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    model.train()
    for x in batches:
        mu, logvar = model.encoder(x[:, None]).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = model.decoder(z).view_as(x)
        bce = torch.nn.functional.binary_cross_entropy(recon, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + kl) / len(x)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()


def package_loop(model, batches):
    generator = vae.torch_generator(np.random.default_rng(0), torch.device("cpu"))
    vae.train(model, batches, len(batches), generator, progress=False)


def main() -> None:
    record = Record("bench_vae", pin_threads())
    rng = np.random.default_rng(0)
    batches = [torch.as_tensor(rng.random((BATCH, 28, 28), dtype=np.float32)) for _ in range(STEPS)]
    model = vae.conv_vae()
    start = {k: v.clone() for k, v in model.state_dict().items()}

    def from_start(loop):  # every training starts from the same weights
        model.load_state_dict(start)
        loop(model, batches)

    ours, theirs, ratio = compare(lambda: from_start(package_loop), lambda: from_start(plain_loop))
    images = STEPS * BATCH
    print(f"paper VAE ({vae.n_parameters(model):,} parameters), CPU, {torch.get_num_threads()} thread(s), "
          f"batch {BATCH}, {STEPS} steps a training")
    print(f"plain PyTorch loop (reference): {images / theirs.median:6.0f} images/s")
    print(f"collapsebook.vae.train:         {images / ours.median:6.0f} images/s")
    record.add("training the paper's VAE: speed package / plain loop", ratio, "x")
    rate = record.add("training the paper's VAE: package rate", inverse(ours, images), "images/s")
    preset = PRESETS["paper"]
    print(f"paper scale: {preset['n_train']:,} images x {preset['epochs']} epochs x {paper_fits()} VAEs")
    hours = inverse(rate, PAPER_IMAGES / 3600)  # images / (images/s), in hours
    record.add(f"paper preset projected from the package rate on {record.threads} thread(s)", hours, "h")
    record.save()


def inverse(spread: Spread, numerator: float) -> Spread:
    """The spread of ``numerator / value`` (a rate from times, or a time from rates): low and high swap."""
    return Spread(numerator / spread.median, numerator / spread.high, numerator / spread.low, spread.repeats)


if __name__ == "__main__":
    main()
