"""Benchmark of chapter 5 on CPU: fine-tuning, evaluation and 5-beam generation throughput of the book's
offline OPT (random weights: the cost does not depend on them), against plain hand-written PyTorch loops
measured in the same run. Prints tokens/s and the ratio package / reference (1.0 = no overhead).

    .venv/bin/python benchmarks/bench_lm.py
"""

from __future__ import annotations

import time

import numpy as np

from collapsebook import lm
from collapsebook.experiments.lm import SMALL

import torch  # noqa: E402  (after collapsebook.lm, which configures the hub)
import transformers  # noqa: E402

N_BLOCKS, BATCH, EPOCHS, N_PROMPTS, BEAMS = 96, 16, 2, 24, 5


def timed(fn, repeats=2):
    """Best wall time of ``repeats`` calls (the first one also warms caches up) and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def plain_fine_tune(model, blocks):
    """Reference: AdamW at a constant rate, the loss written out, no schedule, no validation."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    model.train()
    for _ in range(EPOCHS):
        for batch in torch.as_tensor(blocks).split(BATCH):
            logits = model(input_ids=batch).logits[:, :-1]
            loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch[:, 1:])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()


@torch.no_grad()
def plain_losses(model, blocks):
    batch = torch.as_tensor(blocks)
    logits = model(input_ids=batch).logits[:, :-1]
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch[:, 1:], reduction="none").mean(1)


@torch.no_grad()
def plain_beam_search(model, prompts, n_new=64, beams=BEAMS):
    """Reference: beam search written out with the model's key-value cache (end of text forbidden)."""
    prompts = torch.as_tensor(prompts)
    n, eos = len(prompts), model.config.eos_token_id
    out = model(input_ids=prompts.repeat_interleave(beams, 0), use_cache=True)
    cache = out.past_key_values
    scores = torch.full((n, beams), -float("inf"))
    scores[:, 0] = 0.0  # all beams start equal: keep one
    tokens = torch.zeros(n * beams, 0, dtype=torch.long)
    for step in range(n_new):
        logp = out.logits[:, -1].float().log_softmax(-1)
        logp[:, eos] = -float("inf")
        vocab = logp.shape[1]
        scores, index = (scores.reshape(-1, 1) + logp).reshape(n, -1).topk(beams, dim=1)
        parent = (index // vocab + torch.arange(n)[:, None] * beams).reshape(-1)
        tokens = torch.cat([tokens[parent], (index % vocab).reshape(-1, 1)], dim=1)
        if step < n_new - 1:
            cache.reorder_cache(parent)
            out = model(input_ids=tokens[:, -1:], cache=cache, use_cache=True)
            cache = out.past_key_values
    return tokens.reshape(n, beams, -1)[:, 0].numpy()


def model_and_blocks():
    torch.manual_seed(0)
    arch = {k: SMALL[k] for k in lm.ARCHITECTURE}
    model = transformers.OPTForCausalLM(lm.opt_config(**arch)).eval()
    blocks = np.random.default_rng(0).integers(4, arch["vocab_size"], (N_BLOCKS, lm.BLOCK_SIZE))
    return model, blocks


def report(task, unit_count, ours, reference):
    print(f"{task:<22} package {unit_count / ours:9.0f} tok/s   reference {unit_count / reference:9.0f} tok/s"
          f"   speed ratio package/reference {reference / ours:5.2f}")


def main():
    model, blocks = model_and_blocks()
    print(f"offline OPT of the book scale: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
          f"{torch.get_num_threads()} threads")
    tokens = EPOCHS * blocks.size
    first, second = [transformers.OPTForCausalLM(model.config) for _ in range(2)]
    ours, _ = timed(lambda: lm.fine_tune(first, blocks, epochs=EPOCHS, lr=5e-4, batch_size=BATCH, progress=False))
    reference, _ = timed(lambda: plain_fine_tune(second, blocks))
    report("fine-tuning", tokens, ours, reference)
    ours, _ = timed(lambda: lm.sequence_losses(model, blocks))
    reference, _ = timed(lambda: plain_losses(model, blocks))
    report("evaluation", blocks.size, ours, reference)
    prompts = blocks[:N_PROMPTS]
    ours, generated = timed(lambda: lm.continue_blocks(model, prompts, batch_size=N_PROMPTS, progress=False))
    reference, written = timed(lambda: plain_beam_search(model, prompts))
    report("5-beam generation", generated.size, ours, reference)
    print(f"same continuations as the hand-written beam search: {np.mean(np.all(generated == written, 1)):.0%}")


if __name__ == "__main__":
    main()
