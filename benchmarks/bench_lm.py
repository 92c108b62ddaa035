"""Benchmark of chapter 5 on CPU: fine-tuning, evaluation and 5-beam generation throughput of the model the
book scale uses offline (SmolLM2-135M, 134.5M parameters), against plain hand-written PyTorch loops measured in
the same run, and bf16 autocast against float32. From the measured rates it projects the chapter's `book` run
(every fine-tuning, evaluation and beam search its preset implies) to check it against its 25-minute budget.

The references are the plainest fair ones: the same loss (the model's own ``labels=`` loss, as lm.fine_tune), the
same optimiser (AdamW; a constant rate, no schedule), the same batches; threads are pinned (1 by default:
with the default threads on a shared 2-core machine fine-tuning swung 9x between runs) and every measure is the
median of >= 5 interleaved repeats with its spread (benchmarks/_harness.py).

    .venv/bin/python benchmarks/bench_lm.py
"""

from __future__ import annotations

import numpy as np
from _harness import Record, compare, pin_threads

from collapsebook import lm
from collapsebook.experiments.lm import PRESETS, SETTINGS, plan

import torch  # noqa: E402

N_BLOCKS, BATCH, EPOCHS, N_PROMPTS, BEAMS, N_NEW = 8, 4, 1, 2, 5, 32
BUDGET_S = 25 * 60  # the chapter's budget at the book scale on 2 CPU cores


def plain_fine_tune(model, blocks):
    """Reference: AdamW at a constant rate, the model's own loss (as lm.fine_tune), no schedule, no validation."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    for _ in range(EPOCHS):
        for batch in torch.as_tensor(blocks).split(BATCH):
            loss = model(input_ids=batch, labels=batch).loss
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
def plain_beam_search(model, prompts, n_new=N_NEW, beams=BEAMS):
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


def report(record, task, unit_count, ours, reference, ratio, against="reference"):
    """Print the package's and the reference's token rates, record the speed ratio; return the package's rate."""
    print(f"{task:<26} package {unit_count / ours.median:7.0f} tok/s   {against} {unit_count / reference.median:7.0f}"
          f" tok/s")
    record.add(f"{task}: speed package / {against}", ratio, "x")
    return unit_count / ours.median


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
    record = Record("bench_lm", pin_threads())
    print(f"{lm.STANDIN}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, "
          f"{torch.get_num_threads()} threads, bf16 native here: {lm.bf16_native(torch.device('cpu'))}")
    rates, tokens = {}, EPOCHS * blocks.size
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def from_start(fn):  # every fine-tuning starts from the same weights
        model.load_state_dict(state)
        return fn()

    def package_fine_tune():
        return from_start(lambda: lm.fine_tune(model, blocks, epochs=EPOCHS, lr=1e-5, batch_size=BATCH,
                                               progress=False))

    def reference_fine_tune():
        with lm._autocast(model.device):  # the reference under the same precision: the ratio is the overhead
            from_start(lambda: plain_fine_tune(model, blocks))

    rates["train"] = report(record, "fine-tuning", tokens, *compare(package_fine_tune, reference_fine_tune))

    def float32_fine_tune():
        lm.BF16 = False
        try:
            package_fine_tune()
        finally:
            lm.BF16 = None

    report(record, "fine-tuning (auto / fp32)", tokens, *compare(package_fine_tune, float32_fine_tune),
           against="float32")
    model.load_state_dict(state)

    def reference_losses():
        with lm._autocast(model.device):
            return plain_losses(model, blocks)

    rates["eval"] = report(record, "evaluation", blocks.size,
                           *compare(lambda: lm.sequence_losses(model, blocks), reference_losses))
    prompts, results = blocks[:N_PROMPTS], {}

    def package_beams():
        results["package"] = lm.continue_blocks(model, prompts, n_new=N_NEW, batch_size=N_PROMPTS, progress=False)

    def reference_beams():
        with lm._autocast(model.device):
            results["reference"] = plain_beam_search(model, prompts)

    rates["generate"] = report(record, f"{BEAMS}-beam generation", N_PROMPTS * N_NEW,
                               *compare(package_beams, reference_beams))
    same = np.mean(np.all(results["package"] == results["reference"], 1))
    print(f"same continuations as the hand-written beam search: {same:.0%}")
    projected = book_projection(rates)
    print(f"chapter 5 at the book scale, projected from these medians on {torch.get_num_threads()} thread(s) (the "
          f"book runs on all cores): {projected / 60:.1f} min, "
          f"{projected / BUDGET_S:.2f} of its {BUDGET_S // 60}-minute budget (loading and figures not included; "
          f"generation timed on {N_NEW}-token continuations, the book's are {lm.BLOCK_SIZE})")
    record.save()


if __name__ == "__main__":
    main()
