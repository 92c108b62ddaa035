"""GPU benchmark of chapter 5: how long does the paper's OPT-125m experiment take on this machine?

Self-contained (torch and transformers only; no data, no hub): an OPT-125m-sized model from a random
initialisation (the cost does not depend on the weights) is fine-tuned on random 64-token blocks (AdamW, bf16
autocast where supported, batch 128) and continues random prompts by 64 tokens with 5-way beam search through
``generate``. From the measured rates it prints the projected wall time of the paper scale (settings b and c,
9 generations, 5 seeds each, plus the one-seed repetition-penalty ablation) and the model FLOP utilisation.

    python benchmarks/gpu_lm.py                # on the GPU, a few minutes
    python benchmarks/gpu_lm.py --tiny         # a small model and few steps: checks the script on a CPU
"""

from __future__ import annotations

import argparse
import time

import torch
import transformers

BLOCK = 64
# WikiText-2 raw in 64-token blocks with OPT's tokenizer (about 2.41M, 0.25M and 0.29M tokens).
TRAIN_BLOCKS, VALIDATION_BLOCKS, TEST_BLOCKS = 37_600, 3_900, 4_500
GENERATIONS = 9
RUNS = {"b": (5, 0.0, 5), "c": (10, 0.1, 5), "b-penalty2": (5, 0.0, 1)}  # epochs, original share, seeds
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "T4": 65.0}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny model and few steps (CPU check)")
    parser.add_argument("--batch-size", type=int, default=128, help="fine-tuning batch (the paper's code: 128)")
    parser.add_argument("--prompts", type=int, default=256, help="prompts continued at once (x5 beams)")
    parser.add_argument("--steps", type=int, default=30, help="timed fine-tuning steps")
    parser.add_argument("--peak-tflops", type=float, default=None, help="bf16 dense peak (default: by GPU name)")
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


def autocast(device):
    enabled = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds(device, fn, repeats):
    fn()  # warm-up (kernels, allocator)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / repeats


def train_step_seconds(model, config, args, device):
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    batch = torch.randint(4, config.vocab_size, (args.batch_size, BLOCK), device=device)

    def step():
        with autocast(device):
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    model.train()
    return seconds(device, step, args.steps)


@torch.no_grad()
def eval_seconds(model, config, args, device):
    batch = torch.randint(4, config.vocab_size, (2 * args.batch_size, BLOCK), device=device)
    model.eval()

    def forward():
        with autocast(device):
            model(input_ids=batch)

    return seconds(device, forward, max(3, args.steps // 3))


@torch.no_grad()
def generate_seconds(model, config, args, device):
    prompts = torch.randint(4, config.vocab_size, (args.prompts, BLOCK), device=device)

    def generate():
        with autocast(device):
            out = model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), do_sample=False,
                                 num_beams=5, min_new_tokens=BLOCK, max_new_tokens=BLOCK,
                                 pad_token_id=config.pad_token_id, eos_token_id=config.eos_token_id)
        assert out.shape[1] == 2 * BLOCK

    return seconds(device, generate, 1)


def projected_hours(train_rate, eval_rate, gen_rate):
    """Wall time of every run of the paper scale from blocks/s of training, evaluation and generation."""
    total = 0.0
    for epochs, original, seeds in RUNS.values():
        fits = (GENERATIONS + 1) * epochs * (TRAIN_BLOCKS / train_rate + VALIDATION_BLOCKS / eval_rate)
        sampling = GENERATIONS * (1 - original) * TRAIN_BLOCKS / gen_rate
        measuring = (GENERATIONS + 1) * (TEST_BLOCKS + TRAIN_BLOCKS) / eval_rate
        total += seeds * (fits + sampling + measuring)
    return total / 3600


def main():
    args = parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, config = build(args, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    n = sum(p.numel() for p in model.parameters())
    print(f"{name}: OPT with {n / 1e6:.1f}M parameters, bf16 autocast {device.type == 'cuda'}")
    train_rate = args.batch_size / train_step_seconds(model, config, args, device)
    eval_rate = 2 * args.batch_size / eval_seconds(model, config, args, device)
    gen_rate = args.prompts / generate_seconds(model, config, args, device)
    attention = 12 * config.num_hidden_layers * config.hidden_size * BLOCK  # per token, forward + backward
    train_flops = train_rate * BLOCK * (6 * n + attention)
    gen_flops = gen_rate * 5 * BLOCK * (2 * n + attention / 3 * 2)  # beams x new tokens x forward cost
    print(f"fine-tuning: {train_rate * BLOCK:,.0f} tokens/s; evaluation: {eval_rate * BLOCK:,.0f} tokens/s; "
          f"5-beam generation: {gen_rate * BLOCK:,.0f} new tokens/s ({gen_rate:.1f} blocks/s)")
    for label, flops in [("fine-tuning", train_flops), ("generation", gen_flops)]:
        mfu = f"{flops / (peak * 1e12):.1%}" if peak else "n/a (pass --peak-tflops)"
        print(f"model FLOP utilisation, {label}: {flops / 1e12:.1f} TFLOP/s, MFU {mfu}")
    print(f"projected paper scale ({', '.join(f'{k}: {v[2]} seeds' for k, v in RUNS.items())}, "
          f"{GENERATIONS} generations): {projected_hours(train_rate, eval_rate, gen_rate):.1f} h on this device")


if __name__ == "__main__":
    main()
