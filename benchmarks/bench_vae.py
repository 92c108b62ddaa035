"""Training throughput of the paper's VAE (chapter 4) on this machine's CPU.

``collapsebook.vae.train`` against a plain hand-written PyTorch loop on the same model, the same batches and
the same optimiser, measured in this run; then the wall time that the chapter's ``paper`` preset (the paper's
protocol to its generation 20, our 21, and the chains comparing replace with accumulate) would take at the
measured rate.
Run: ``.venv/bin/python benchmarks/bench_vae.py`` (about a minute).
"""

import time

import numpy as np
import torch

from collapsebook import vae
from collapsebook.experiments.vae import POLICIES, PRESETS

BATCH = 256  # the paper's batch size
STEPS = 6
REPEATS = 3


def paper_fits(preset=PRESETS["paper"]) -> int:
    """How many VAEs the paper preset trains: the protocol's generations 0..n, and per chain a generation 0 and
    each policy's generations (the first chain's generation 0 is the protocol's)."""
    chains = preset["policy_chains"] * (1 + len(POLICIES) * preset["policy_generations"])
    return preset["n_generations"] + 1 + chains - 1


PAPER_IMAGES = PRESETS["paper"]["n_train"] * PRESETS["paper"]["epochs"] * paper_fits()


def plain_loop(model, batches):
    """The reference: the textbook VAE training loop, written out."""
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
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
    vae.train(model, batches, len(batches), vae.torch_generator(np.random.default_rng(0), torch.device("cpu")),
              progress=False)


def images_per_second(run, batches) -> float:
    """Best of REPEATS timed runs of ``run`` on a fresh paper VAE (CPU)."""
    best = np.inf
    for repeat in range(REPEATS):
        model = vae.conv_vae()
        start = time.perf_counter()
        run(model, batches)
        best = min(best, time.perf_counter() - start)
    return len(batches) * BATCH / best


def main() -> None:
    threads = vae.set_threads()
    rng = np.random.default_rng(0)
    batches = [torch.as_tensor(rng.random((BATCH, 28, 28), dtype=np.float32)) for _ in range(STEPS)]
    images_per_second(plain_loop, batches[:1])  # warm-up
    reference = images_per_second(plain_loop, batches)
    package = images_per_second(package_loop, batches)
    print(f"paper VAE ({vae.n_parameters(vae.conv_vae()):,} parameters), CPU, {threads} thread(s), batch {BATCH}")
    print(f"plain PyTorch loop (reference): {reference:8.0f} images/s")
    print(f"collapsebook.vae.train:         {package:8.0f} images/s   ratio {package / reference:.2f}")
    hours = PAPER_IMAGES / package / 3600
    preset = PRESETS["paper"]
    print(f"projected paper scale ({preset['n_train']:,} x {preset['epochs']} epochs x {paper_fits()} VAEs) "
          f"on this CPU: {hours:.1f} h")


if __name__ == "__main__":
    main()
