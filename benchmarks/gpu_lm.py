"""GPU benchmark of chapter 5: how long does the paper's OPT-125m experiment take on this machine?

An OPT-125m-sized model from a random initialisation (the cost does not depend on the weights) goes through the
package's own functions: ``lm.fine_tune`` on random 64-token blocks (AdamW, cosine schedule, bf16 autocast where
native, batch 128), ``lm.sequence_losses`` and ``lm.continue_blocks`` (5-way beam search through ``generate``,
exactly 64 new tokens). From the measured rates it projects the paper scale (settings b and c, 9 generations,
5 seeds each, plus the one-seed repetition-penalty ablation).

How it judges the device:
- fine-tuning and the prefill (``generate`` expands each prompt to 5 beams, then runs the 64 prompt tokens of
  every beam in one forward pass) are compute-bound: model FLOP utilisation (MFU) against the bf16 dense peak;
- beam-search decoding is bandwidth-bound (one token per sequence and step): the bytes it must move per step
  (every weight once, every sequence's key-value cache once) per second, against the device's memory
  bandwidth, besides its MFU. HF's cache mechanics (reorder by copy, append by concatenation) move more than
  this floor, so a low share of the bandwidth is the cost of those mechanics.
With ``--tiny`` a small model runs a few steps to check the script on a CPU: its projection and utilisations
are printed but meaningless, and labelled so.

    python benchmarks/gpu_lm.py                # on the GPU, a few minutes
    python benchmarks/gpu_lm.py --tiny         # a small model and few steps: checks the script on a CPU
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import transformers

from collapsebook import lm

BLOCK, BEAMS = lm.BLOCK_SIZE, 5
# WikiText-2 raw in 64-token blocks with OPT's tokenizer (about 2.41M, 0.25M and 0.29M tokens).
TRAIN_BLOCKS, VALIDATION_BLOCKS, TEST_BLOCKS = 37_600, 3_900, 4_500
GENERATIONS = 9
RUNS = {"b": (5, 0.0, 5), "c": (10, 0.1, 5), "b-penalty2": (5, 0.0, 1)}  # epochs, original share, seeds
# Dense bf16 peak (TFLOP/s) and memory bandwidth (TB/s) of the SXM / main variants.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "T4": 65.0}
PEAK_TBPS = {"H200": 4.8, "H100": 3.35, "A100": 2.0, "L40S": 0.864, "A10": 0.6, "T4": 0.32}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny model and few steps (CPU check; the "
                        "projection is then meaningless)")
    parser.add_argument("--batch-size", type=int, default=128, help="fine-tuning batch (the paper's code: 128)")
    parser.add_argument("--prompts", type=int, default=256, help="prompts continued at once (x5 beams)")
    parser.add_argument("--steps", type=int, default=30, help="timed fine-tuning steps")
    parser.add_argument("--peak-tflops", type=float, default=None, help="bf16 dense peak (default: by GPU name)")
    parser.add_argument("--peak-tbps", type=float, default=None, help="memory bandwidth, TB/s (default: by name)")
    return parser.parse_args()


def build(args, device):
    if args.tiny:
        config = transformers.OPTConfig(vocab_size=512, hidden_size=64, word_embed_proj_dim=64, num_hidden_layers=2,
                                        num_attention_heads=2, ffn_dim=128, max_position_embeddings=2 * BLOCK)
        args.batch_size, args.prompts, args.steps = 8, 4, 3
    else:
        config = transformers.OPTConfig()  # OPT-125m's shape: 12 layers, 768 wide, 50,272 tokens
    torch.manual_seed(0)
    return transformers.OPTForCausalLM(config).to(device), config


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds(device, fn):
    """Wall time of one call of ``fn()`` after an untimed warm-up call (kernels, allocator)."""
    fn()
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def random_blocks(config, n, rng):
    return rng.integers(4, config.vocab_size, (n, BLOCK))


def rates(model, config, args, device):
    """Blocks per second of lm.fine_tune, lm.sequence_losses, the prefill and lm.continue_blocks."""
    rng = np.random.default_rng(0)
    train = random_blocks(config, args.steps * args.batch_size, rng)
    evaluate = random_blocks(config, 4 * args.batch_size, rng)
    prompts = random_blocks(config, args.prompts, rng)
    fine_tune = seconds(device, lambda: lm.fine_tune(model, train, epochs=1, batch_size=args.batch_size,
                                                     progress=False))
    evaluation = seconds(device, lambda: lm.sequence_losses(model, evaluate, batch_size=2 * args.batch_size))
    prefill = seconds(device, lambda: _prefill(model, prompts, device))
    generation = seconds(device, lambda: lm.continue_blocks(model, prompts, n_new=BLOCK, num_beams=BEAMS,
                                                            batch_size=args.prompts, progress=False))
    return {"train": len(train) / fine_tune, "eval": len(evaluate) / evaluation,
            "prefill": args.prompts / prefill, "generate": args.prompts / generation}


@torch.no_grad()
def _prefill(model, prompts, device):
    """What generate does before the first new token: each prompt expanded to the beams, one forward pass."""
    batch = torch.as_tensor(prompts, device=device).repeat_interleave(BEAMS, dim=0)
    with lm._autocast(device):
        model(input_ids=batch, attention_mask=torch.ones_like(batch), use_cache=True)


def forward_flops(n_params, config, context):
    """FLOPs of one token's forward pass: ``2 n`` in the matmuls plus attention over ``context`` tokens."""
    return 2 * n_params + 4 * config.num_hidden_layers * config.hidden_size * context


def decode_bytes_per_step(n_sequences, weight_bytes, config, context, kv_bytes=2):
    """The least a decoding step must move: every weight once, and each sequence's keys and values once."""
    return weight_bytes + n_sequences * 2 * config.num_hidden_layers * config.hidden_size * context * kv_bytes


def utilisation(model, config, blocks_per_s, args):
    """FLOP/s of fine-tuning, the prefill and decoding, and decoding's bytes/s (the floor of decode_bytes)."""
    n = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    sequences = args.prompts * BEAMS
    train = blocks_per_s["train"] * BLOCK * 3 * forward_flops(n, config, BLOCK / 2)  # forward + backward = 3x
    prefill = blocks_per_s["prefill"] * BEAMS * BLOCK * forward_flops(n, config, BLOCK / 2)
    prefill_s = args.prompts / blocks_per_s["prefill"]
    decode_s = max(args.prompts / blocks_per_s["generate"] - prefill_s, 1e-12)
    contexts = BLOCK + np.arange(BLOCK)  # context length at each of the 64 decoding steps
    decode_flops = sum(sequences * forward_flops(n, config, c) for c in contexts) / decode_s
    decode_bytes = sum(decode_bytes_per_step(sequences, weight_bytes, config, c) for c in contexts) / decode_s
    return {"fine-tuning": train, "prefill": prefill, "decoding": decode_flops}, decode_bytes, decode_s, prefill_s


def projected_hours(train_rate, eval_rate, gen_rate):
    """Wall time of every run of the paper scale from blocks/s of training, evaluation and generation."""
    total = 0.0
    for epochs, original, seeds in RUNS.values():
        fits = (GENERATIONS + 1) * epochs * (TRAIN_BLOCKS / train_rate + VALIDATION_BLOCKS / eval_rate)
        sampling = GENERATIONS * (1 - original) * TRAIN_BLOCKS / gen_rate
        measuring = (GENERATIONS + 1) * (TEST_BLOCKS + TRAIN_BLOCKS) / eval_rate
        total += seeds * (fits + sampling + measuring)
    return total / 3600


def by_name(table, name, given):
    return given or next((v for k, v in table.items() if k in name), None)


def main():
    args = parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, config = build(args, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak_flops = by_name(PEAK_BF16_TFLOPS, name, args.peak_tflops)
    peak_tbps = by_name(PEAK_TBPS, name, args.peak_tbps)
    caveat = " [MEANINGLESS: --tiny model, a check of the script only]" if args.tiny else ""
    n = sum(p.numel() for p in model.parameters())
    print(f"{name}: OPT with {n / 1e6:.1f}M parameters, bf16 autocast {lm.bf16_native(device)}")
    r = rates(model, config, args, device)
    print(f"lm.fine_tune: {r['train'] * BLOCK:,.0f} tokens/s; lm.sequence_losses: {r['eval'] * BLOCK:,.0f} tokens/s; "
          f"lm.continue_blocks ({BEAMS} beams, {args.prompts} prompts): {r['generate'] * BLOCK:,.0f} new tokens/s "
          f"({r['generate']:.1f} blocks/s)")
    flops, decode_bytes, decode_s, prefill_s = utilisation(model, config, r, args)
    print(f"beam search of {args.prompts} prompts: prefill {prefill_s:.3f} s (timed alone), decoding "
          f"{decode_s:.3f} s (the rest of generate)")
    for label, value in flops.items():
        mfu = f"{value / (peak_flops * 1e12):.1%}" if peak_flops else "n/a (pass --peak-tflops)"
        print(f"model FLOP utilisation, {label}: {value / 1e12:.2f} TFLOP/s, MFU {mfu}{caveat}")
    share = f"{decode_bytes / (peak_tbps * 1e12):.1%} of {peak_tbps} TB/s" if peak_tbps else "n/a (pass --peak-tbps)"
    print(f"decoding moves at least {decode_bytes / 1e12:.3f} TB/s (weights + KV cache once per step): {share}"
          f"{caveat}")
    print(f"projected paper scale ({', '.join(f'{k}: {v[2]} seeds' for k, v in RUNS.items())}, {GENERATIONS} "
          f"generations): {projected_hours(r['train'], r['eval'], r['generate']):.1f} h on this device{caveat}")


if __name__ == "__main__":
    main()
