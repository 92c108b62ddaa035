"""Benchmark of chapter 5 on CPU: fine-tuning, evaluation and 5-beam generation throughput of the model the
book scale uses offline (SmolLM2-135M, 134.5M parameters), against plain hand-written PyTorch loops measured in
the same run, and bf16 autocast against float32. From the measured rates it projects the chapter's `book` run
(every fine-tuning, evaluation and beam search its preset implies) to check it against its 25-minute budget.

    .venv/bin/python benchmarks/bench_lm.py
"""

from __future__ import annotations

import time

import numpy as np

from collapsebook import lm
from collapsebook.experiments.lm import PRESETS, SETTINGS, plan

import torch  # noqa: E402

N_BLOCKS, BATCH, EPOCHS, N_PROMPTS, BEAMS = 8, 4, 1, 4, 5
BUDGET_S = 25 * 60  # the chapter's budget at the book scale on 2 CPU cores


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
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
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
    model, tokenizer = lm.offline_standin(device="cpu")
    corpus = lm.offline_corpus()
    return model, lm.blocks(tokenizer, corpus.train[:100])[:N_BLOCKS]


def report(task, unit_count, ours, reference, against="reference"):
    print(f"{task:<26} package {unit_count / ours:7.0f} tok/s   {against} {unit_count / reference:7.0f} tok/s"
          f"   speed ratio package/{against} {reference / ours:5.2f}")
    return unit_count / ours


def book_projection(rates) -> float:
    """Seconds of the chapter's book run at the measured rates (tokens/s of training, evaluation, generation)."""
    preset = PRESETS["book"]
    n_train, n_val, n_test, gens = preset["n_train"], preset["n_validation"], preset["n_test"], preset["n_generations"]
    trained = evaluated = generated = 0
    for setting, _, _ in plan(preset):
        epochs, fraction = SETTINGS[setting]["epochs"], SETTINGS[setting]["original_fraction"]
        trained += (gens + 1) * epochs * n_train * lm.BLOCK_SIZE
        evaluated += (gens + 1) * (epochs * n_val + n_test + n_train) * lm.BLOCK_SIZE
        generated += (gens * round(n_train * (1 - fraction)) + gens + 1) * lm.BLOCK_SIZE  # data, one example
    trained += SETTINGS["b"]["epochs"] * n_train * lm.BLOCK_SIZE  # the fine-tuning by hand
    return trained / rates["train"] + evaluated / rates["eval"] + generated / rates["generate"]


def main():
    model, blocks = model_and_blocks()
    print(f"{lm.STANDIN}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, "
          f"{torch.get_num_threads()} threads, bf16 native here: {lm.bf16_native(torch.device('cpu'))}")
    rates, tokens = {}, EPOCHS * blocks.size
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ours, _ = timed(lambda: lm.fine_tune(model, blocks, epochs=EPOCHS, lr=1e-5, batch_size=BATCH, progress=False))
    model.load_state_dict(state)
    with lm._autocast(model.device):  # the references under the same precision: the ratio is the overhead
        reference, _ = timed(lambda: plain_fine_tune(model, blocks))
    model.load_state_dict(state)
    rates["train"] = report("fine-tuning", tokens, ours, reference)
    lm.BF16 = False
    fp32, _ = timed(lambda: lm.fine_tune(model, blocks, epochs=EPOCHS, lr=1e-5, batch_size=BATCH, progress=False))
    lm.BF16 = None
    model.load_state_dict(state)
    report("fine-tuning (auto / fp32)", tokens, ours, fp32, against="float32")
    ours, _ = timed(lambda: lm.sequence_losses(model, blocks))
    with lm._autocast(model.device):
        reference, _ = timed(lambda: plain_losses(model, blocks))
    rates["eval"] = report("evaluation", blocks.size, ours, reference)
    prompts = blocks[:N_PROMPTS]
    ours, generated = timed(lambda: lm.continue_blocks(model, prompts, batch_size=N_PROMPTS, progress=False))
    with lm._autocast(model.device):
        reference, written = timed(lambda: plain_beam_search(model, prompts))
    rates["generate"] = report("5-beam generation", generated.size, ours, reference)
    print(f"same continuations as the hand-written beam search: {np.mean(np.all(generated == written, 1)):.0%}")
    projected = book_projection(rates)
    print(f"chapter 5 at the book scale, projected from these rates: {projected / 60:.1f} min, "
          f"{projected / BUDGET_S:.2f} of its {BUDGET_S // 60}-minute budget (loading and figures not included)")


if __name__ == "__main__":
    main()
