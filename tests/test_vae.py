"""Tests of chapter 4's VAEs (collapsebook.vae), its MNIST loader and its experiment, on tiny configurations."""

import json
import sys

import numpy as np
import pytest
import torch

from collapsebook import cli, data, loop, metrics, store, vae
from collapsebook.experiments import vae as experiment


@pytest.fixture(scope="module")
def digits():
    """1797 real 8x8 digits in [0, 1] and their labels."""
    return data.load_mnist(8)


def tiny_fit(images, seed=0, **kwargs):
    return vae.fit(images, np.random.default_rng(seed), epochs=2, batch_size=64, progress=False, **kwargs)


# ---- architecture ----

def test_paper_vae_has_the_papers_parameter_count():
    assert vae.n_parameters(vae.conv_vae()) == 647_081


@pytest.mark.parametrize("image_size, latent_dim", [(28, vae.LATENT_DIM), (8, vae.SMALL_LATENT_DIM)])
def test_shapes_of_encode_decode_forward(image_size, latent_dim):
    model = vae.build(image_size, np.random.default_rng(0), width=4 if image_size == 28 else 16)
    x = torch.rand(5, image_size, image_size, device=vae.device())
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, latent_dim)
    with torch.no_grad():
        recon, mu, logvar = model(x, vae.torch_generator(np.random.default_rng(1)))
    assert recon.shape == x.shape and float(recon.min()) >= 0 and float(recon.max()) <= 1


def test_build_is_seeded_and_leaves_torch_global_generator_alone():
    state = torch.random.get_rng_state()
    a, b = (vae.build(8, np.random.default_rng(3)) for _ in range(2))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = vae.build(8, np.random.default_rng(4))
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_loss_is_bce_plus_beta_times_kl_per_image():
    x = torch.tensor([[[1.0, 0.0]]])
    recon = torch.tensor([[[0.5, 0.5]]])
    mu, logvar = torch.tensor([[1.0]]), torch.tensor([[0.0]])
    # BCE: 2 log 2; KL of N(1, 1) from N(0, 1): 1/2.
    assert vae.loss(recon, x, mu, logvar).item() == pytest.approx(2 * np.log(2) + 0.5)
    assert vae.loss(recon, x, mu, logvar, beta=0.25).item() == pytest.approx(2 * np.log(2) + 0.125)


def test_beta_reaches_the_training_loss(digits):
    images = digits[0][:64]
    paper, light = (vae.fit(images, np.random.default_rng(0), n_steps=3, batch_size=64, beta=b, progress=False)
                    for b in (1.0, 64 / 784))
    assert light.losses[0] < paper.losses[0]  # the same first step, a smaller KL term
    teacher = vae.fit_to_teacher(paper, np.random.default_rng(1), 2, batch_size=16, beta=0.5, progress=False)
    assert len(teacher.losses) == 2


def test_set_threads_and_device():
    before = torch.get_num_threads()
    try:
        assert vae.set_threads(1) == 1 and torch.get_num_threads() == 1
        assert vae.set_threads() >= 1
    finally:
        torch.set_num_threads(before)
    assert vae.device().type in ("cpu", "cuda")


# ---- training, sampling, encoding ----

def test_fit_lowers_the_loss_and_sample_encode_have_the_right_shapes(digits):
    images = digits[0][:512]
    model = vae.fit(images, np.random.default_rng(0), epochs=6, batch_size=32, progress=False)
    assert len(model.losses) == vae.n_batches(512, 32, 6) == 96
    assert model.losses[-16:].mean() < model.losses[:16].mean()
    drawn = vae.sample(model, 70, np.random.default_rng(1))
    assert drawn.shape == (70, 8, 8) and drawn.dtype == np.float32
    assert 0 <= drawn.min() and drawn.max() <= 1
    means = vae.encode(model, images[:9])
    with torch.no_grad():
        mu, logvar = model.encode(torch.as_tensor(images[:9], device=vae.device()))
    assert means.shape == (9, vae.SMALL_LATENT_DIM)
    np.testing.assert_array_equal(means, mu.cpu().numpy())  # the means, not the log-variances


def test_fit_with_n_steps_and_same_seed_is_reproducible(digits):
    images = digits[0][:100]
    a = vae.fit(images, np.random.default_rng(5), n_steps=7, batch_size=64, progress=False)
    b = vae.fit(images, np.random.default_rng(5), n_steps=7, batch_size=64, progress=False)
    assert len(a.losses) == 7
    np.testing.assert_array_equal(a.losses, b.losses)
    draws = [vae.sample(m, 5, np.random.default_rng(0)) for m in (a, b)]
    np.testing.assert_array_equal(*draws)


def test_model_batches_are_fresh_decoder_means_that_can_be_trained_on():
    teacher = vae.build(8, np.random.default_rng(0))
    generator = vae.torch_generator(np.random.default_rng(1))
    first, second = vae.model_batches(teacher, 16, 2, generator)
    assert first.shape == (16, 8, 8) and not torch.equal(first, second)
    student = vae.fit_to_teacher(teacher, np.random.default_rng(2), 3, batch_size=16, progress=False)
    assert len(student.losses) == 3 and np.all(np.isfinite(student.losses))


def test_draws_decode_standard_normal_codes():
    """Samples and teacher batches are decoder means at z ~ N(0, I): the same codes, drawn here, decode to them."""
    model = vae.build(8, np.random.default_rng(0))
    generator = vae.torch_generator(np.random.default_rng(1))
    z = torch.randn((2000, model.latent_dim), generator=generator, device=generator.device)
    assert float(z.std()) == pytest.approx(1.0, abs=0.02) and abs(float(z.mean())) < 0.02
    with torch.no_grad():
        expected = model.decode(z).cpu().numpy()
    np.testing.assert_array_equal(vae.sample(model, 2000, np.random.default_rng(1)), expected)
    batches = vae.model_batches(model, 1000, 2, vae.torch_generator(np.random.default_rng(1)))
    np.testing.assert_array_equal(torch.cat(list(batches)).cpu().numpy(), expected)


def test_image_batches_cover_every_image_once_per_epoch():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1).repeat(8, 1).repeat(8, 2) / 10
    batches = list(vae.image_batches(images, 4, 2, vae.torch_generator(np.random.default_rng(0))))
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4, 2]
    first_epoch = torch.cat(batches[:3])[:, 0, 0].cpu().numpy()
    np.testing.assert_allclose(np.sort(first_epoch), np.arange(10) / 10, rtol=1e-6)


def test_arrays_and_safetensors_round_trip(tmp_path, digits):
    model = tiny_fit(digits[0][:64])
    again = vae.from_arrays(vae.to_arrays(model))
    vae.save(model, tmp_path / "m.safetensors", {"note": 1})
    loaded, metadata = vae.load(tmp_path / "m.safetensors")
    assert metadata == {"note": 1}
    x = torch.as_tensor(digits[0][:4], device=vae.device())
    for other in (again, loaded):
        assert other.config() == model.config()
        assert torch.equal(other.encode(x)[0], model.encode(x)[0])


def test_tile_lays_images_out_in_rows():
    canvas = vae.tile(np.ones((5, 2, 2)), 3, pad=1)
    assert canvas.shape == (2 * 3 + 1, 3 * 3 + 1)
    assert canvas.sum() == 5 * 4


# ---- recursive protocols ----

def test_loop_family_runs_generations_with_policies(digits):
    images = digits[0][:200]
    family = vae.family(progress=False, n_steps=3, batch_size=64)
    history = loop.run(family, images, 2, policy="accumulate", original_fraction=0.1, seed=0, progress=False)
    assert list(history["n_train"]) == [200, 400, 600]
    assert history["encoder.1.weight"].shape == (3, 256, 64)


def test_recursive_fresh_resumes_to_the_same_models(tmp_path, digits):
    images = digits[0][:128]
    settings = {"epochs": 1, "batch_size": 64, "seed": 3, "progress": False}
    straight = vae.recursive_fresh(images, 2, **settings)
    assert len(straight) == 3
    vae.recursive_fresh(images, 1, checkpoint_dir=tmp_path, **settings)  # "interrupted" after generation 1
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["generation_00000.safetensors", "generation_00001.safetensors", "settings.json"]
    resumed = vae.recursive_fresh(images, 2, checkpoint_dir=tmp_path, **settings)
    for a, b in zip(straight, resumed):
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
        np.testing.assert_allclose(a.losses, b.losses, rtol=1e-6)  # a chapter plots read-back training curves
    with pytest.raises(ValueError, match="other settings: seed 3 \\(this run: 4\\)"):
        vae.recursive_fresh(images, 2, checkpoint_dir=tmp_path, **{**settings, "seed": 4})


def folder_bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("change", [{"lr": 2e-3}, {"weight_decay": 0.0}, {"beta": 0.5}, {"width": 128},
                                    {"epochs": 2}, {"batch_size": 32}, "other images"],
                         ids=lambda c: c if isinstance(c, str) else next(iter(c)))
def test_recursive_fresh_refuses_a_checkpoint_folder_of_other_settings(tmp_path, digits, change):
    images = digits[0][:64]
    settings = {"epochs": 1, "batch_size": 64, "seed": 3, "progress": False}
    vae.recursive_fresh(images, 0, checkpoint_dir=tmp_path, **settings)
    before = folder_bytes(tmp_path)
    if change == "other images":
        images, change = digits[0][64:128], {}
    with pytest.raises(ValueError, match="holds a run with other settings"):
        vae.recursive_fresh(images, 1, checkpoint_dir=tmp_path, **{**settings, **change})
    assert folder_bytes(tmp_path) == before  # refused before anything was written


def test_a_damaged_vae_checkpoint_is_named(tmp_path, digits):
    images = digits[0][:64]
    settings = {"epochs": 1, "batch_size": 64, "seed": 3, "progress": False}
    vae.recursive_fresh(images, 1, checkpoint_dir=tmp_path, **settings)
    path = tmp_path / "generation_00001.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(store.DamagedFile, match="generation_00001.safetensors is damaged"):
        vae.recursive_fresh(images, 2, checkpoint_dir=tmp_path, **settings)
    path.unlink()  # as the message says: delete it, and the resumed run trains that generation again
    again = vae.recursive_fresh(images, 1, checkpoint_dir=tmp_path, **settings)
    straight = vae.recursive_fresh(images, 1, **settings)
    assert all(torch.equal(p, q) for p, q in zip(again[1].state_dict().values(), straight[1].state_dict().values()))


def test_recursive_fresh_trains_each_generation_on_the_one_before(digits):
    images = digits[0][:128]
    models = vae.recursive_fresh(images, 2, epochs=1, batch_size=64, beta=0.5, seed=4, progress=False)
    for g in (1, 2):
        again = vae.fit_to_teacher(models[g - 1], loop.generation_rng(4, g), 2, batch_size=64, beta=0.5,
                                   progress=False)
        assert all(torch.equal(p, q) for p, q in zip(again.parameters(), models[g].parameters()))


def test_generation0_of_both_protocols_is_the_same_model(digits):
    images = digits[0][:128]
    fresh = vae.recursive_fresh(images, 0, epochs=1, batch_size=64, seed=2, progress=False)[0]
    looped = vae.family(progress=False, n_steps=2, batch_size=64).fit(images, loop.generation_rng(2, 0))
    assert all(torch.equal(p, q) for p, q in zip(fresh.parameters(), looped.parameters()))


# ---- bad input ----

@pytest.mark.parametrize("images, match", [
    (np.zeros((3, 8, 9)), "images must have shape"),
    (np.zeros((3, 10, 10)), "images must have shape"),
    (np.zeros((0, 8, 8)), "at least one image"),
    (np.full((3, 8, 8), 2.0), r"values in \[0, 1\]"),
])
def test_bad_images_raise(images, match):
    with pytest.raises(ValueError, match=match):
        vae.fit(images, np.random.default_rng(0), progress=False)


@pytest.mark.parametrize("kwargs, name", [({"epochs": 0}, "epochs"), ({"epochs": -1}, "epochs"),
                                          ({"n_steps": 0}, "n_steps"), ({"batch_size": 0}, "batch_size"),
                                          ({"lr": 0.0}, "lr"), ({"width": 0}, "width"), ({"beta": 0.0}, "beta"),
                                          ({"beta": float("nan")}, "beta")])
def test_bad_settings_raise_naming_the_parameter(digits, kwargs, name):
    with pytest.raises(ValueError, match=name):
        vae.fit(digits[0][:10], np.random.default_rng(0), progress=False, **kwargs)


def test_other_bad_input_raises():
    model = vae.build(8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="image_size"):
        vae.build(16, np.random.default_rng(0))
    with pytest.raises(ValueError, match="images must have shape"):
        vae.encode(model, np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="n must"):
        vae.sample(model, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_generations"):
        vae.recursive_fresh(np.zeros((2, 8, 8)), -1)
    with pytest.raises(ValueError, match="epochs"):
        vae.recursive_fresh(np.zeros((2, 8, 8)), 1, epochs=0)
    with pytest.raises(ValueError, match="n_steps"):
        vae.fit_to_teacher(model, np.random.default_rng(0), 0)


# ---- data ----

def test_load_mnist_8x8_is_sklearn_digits(capsys):
    images, labels = data.load_mnist(8)
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert images.min() == 0 and images.max() == 1 and set(labels) == set(range(10))
    assert "scikit-learn" in capsys.readouterr().out


def test_load_mnist_rejects_other_sizes():
    with pytest.raises(ValueError, match="image_size"):
        data.load_mnist(16)


def _hub_parquet(path, n=12):
    """A file in the hub's format: a parquet table of PNG image bytes and integer labels (datasets' Image)."""
    import datasets
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(num_classes=10)})
    table = datasets.Dataset.from_dict(
        {"image": [Image.fromarray(p) for p in pixels], "label": [i % 10 for i in range(n)]}, features=features)
    table.to_parquet(str(path))
    return pixels


def test_load_mnist_online_path_reads_the_hubs_parquet_format(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLLAPSEBOOK_CACHE", str(tmp_path / "cache"))
    pixels = _hub_parquet(tmp_path / "train-00000-of-00001.parquet")
    images, labels = data.load_mnist(28, source=tmp_path / "train-00000-of-00001.parquet")
    assert "MNIST from" in capsys.readouterr().out
    np.testing.assert_allclose(images, pixels / 255.0, rtol=1e-6)
    assert labels.tolist() == [i % 10 for i in range(12)]
    again, _ = data.load_mnist(28, source=tmp_path / "train-00000-of-00001.parquet")  # from the npz cache
    np.testing.assert_array_equal(again, images)


# ---- metrics and experiment ----

def test_share_outside_is_one_minus_level_for_the_same_law():
    rng = np.random.default_rng(0)
    reference, values = rng.normal(size=100_000), rng.normal(size=100_000)
    # Binomial standard error of a share near 0.05 over 1e5 values: 7e-4; four of them.
    assert metrics.share_outside(values, reference, 0.95) == pytest.approx(0.05, abs=4 * 7e-4)
    assert metrics.share_outside(0.5 * values, reference, 0.95) < 0.001
    with pytest.raises(ValueError, match="level"):
        metrics.share_outside(values, reference, 1.0)
    with pytest.raises(ValueError, match="values must hold at least one number"):
        metrics.share_outside([], reference, 0.5)


def test_latent_spread_and_its_standard_error():
    rng = np.random.default_rng(1)
    z = rng.normal(scale=2.0, size=(4000, 5))
    std, se = experiment.latent_spread(z)
    # For Gaussian rows of d = 5 coordinates, se(std) = std / sqrt(2 n d); the estimate is within 4 of them.
    assert se == pytest.approx(2.0 / np.sqrt(2 * 4000 * 5), rel=0.1)
    assert std == pytest.approx(2.0, abs=4 * se)


def test_split_classifier_and_class_frequencies(digits):
    images, labels = digits
    train, train_labels, held, held_labels = experiment.split_digits(images, labels, 1000, 600, seed=0)
    assert len(train) == 1000 and len(held) == 600
    with pytest.raises(ValueError, match="n_heldout"):
        experiment.split_digits(images, labels, 10, len(images), seed=0)
    classifier = experiment.digit_classifier(held, held_labels)
    frequencies = experiment.class_frequencies(classifier, train)
    assert frequencies.shape == (10,) and frequencies.sum() == pytest.approx(1.0)
    # The 1000 real digits are nearly balanced: every class near 1/10 (binomial SE 0.0095; a lax 0.05).
    assert np.all(np.abs(frequencies - 0.1) < 0.05)


def test_presets_name_the_same_settings_at_every_scale():
    keys = [set(preset) for preset in experiment.PRESETS.values()]
    assert all(k == keys[0] for k in keys)
    # The ci scale's 8x8 digits weigh reconstruction against KL per pixel as the paper's 28x28 ones do.
    assert experiment.PRESETS["ci"]["beta"] == pytest.approx(64 / 784)
    assert experiment.PRESETS["book"]["beta"] == experiment.PRESETS["paper"]["beta"] == 1.0
    assert all(p["policy_chains"] >= 2 for p in experiment.PRESETS.values())


def test_spread_factor_and_paired_difference():
    assert experiment.spread_factor([1.0, 0.5, 0.25]) == pytest.approx(0.5)
    assert experiment.spread_factor([2.0, 2.0]) == 1.0
    # The official notebook's five runs shrink by 0.89-0.90 per generation.
    factors = [experiment.spread_factor(run) for run in experiment.PAPER_SPREADS]
    assert min(factors) > 0.88 and max(factors) < 0.91
    for bad in ([1.0], [1.0, 0.0], [[1.0, 0.5]]):
        with pytest.raises(ValueError, match="spreads"):
            experiment.spread_factor(bad)
    mean, se = experiment.paired_difference([3.0, 4.0, 8.0], [1.0, 1.0, 4.0])
    assert mean == pytest.approx(3.0) and se == pytest.approx(1.0 / np.sqrt(3))
    with pytest.raises(ValueError, match="two or more chains"):
        experiment.paired_difference([1.0], [0.0])


def test_summary_measures_the_models_draws_with_the_original_encoder(digits):
    images, labels = digits
    train = images[:128]
    original, other = (vae.fit(train, np.random.default_rng(s), n_steps=4, batch_size=64, progress=False)
                       for s in (0, 1))
    classifier = experiment.digit_classifier(images[1000:], labels[1000:])
    reference = vae.encode(original, train)
    record = experiment.summary(original, other, reference, classifier, 50, np.random.default_rng(3))
    assert set(record) == {"latent_std", "latent_std_se", "outside_95", "outside_99", "class_frequencies"}
    drawn = vae.sample(other, 50, np.random.default_rng(3))
    std, se = experiment.latent_spread(vae.encode(original, drawn))
    assert (record["latent_std"], record["latent_std_se"]) == (std, se)
    np.testing.assert_array_equal(record["class_frequencies"], experiment.class_frequencies(classifier, drawn))


TINY = {**experiment.PRESETS["ci"], "epochs": 1, "batch_size": 64, "policy_generations": 2}


def test_generation0_is_the_fit_with_the_chains_seed_and_resumes(tmp_path, digits):
    train = digits[0][:128]
    steps = vae.n_batches(len(train), TINY["batch_size"], TINY["epochs"])
    direct = vae.fit(train, loop.generation_rng(5, 0), n_steps=steps, batch_size=64, width=TINY["width"],
                     beta=TINY["beta"], progress=False)
    saved = experiment.generation0(train, TINY, 5, folder=tmp_path)
    loaded = experiment.generation0(train, TINY, 5, folder=tmp_path)
    for model in (saved, loaded):
        assert all(torch.equal(p, q) for p, q in zip(direct.parameters(), model.parameters()))


def test_policy_chains_are_independent_and_share_generation0_within_a_chain(digits):
    train = digits[0][:128]
    model0 = experiment.generation0(train, TINY, 7)
    calls = []

    def measure(model, seed, g):
        calls.append((seed, g))
        return {"encoder_bias": model.encoder[1].bias.detach().cpu().numpy().copy()}

    chains = experiment.policy_chains(train, measure, TINY, [7, 8], model0=model0, progress=False)
    assert len(chains) == 2 and all(set(chain) == set(experiment.POLICIES) for chain in chains)
    assert sorted(set(calls)) == [(seed, g) for seed in (7, 8) for g in range(3)]
    for chain in chains:
        replace, accumulate = chain["replace"], chain["accumulate"]
        # Both policies start from the chain's generation 0, then train different models.
        np.testing.assert_array_equal(replace["encoder_bias"][0], accumulate["encoder_bias"][0])
        assert not np.array_equal(replace["encoder_bias"][1], accumulate["encoder_bias"][1])
        # Replace trains on the newest n draws; accumulate keeps the real digits and every earlier draw.
        assert list(replace["n_train"]) == [128, 128, 128] and list(accumulate["n_train"]) == [128, 256, 384]
    np.testing.assert_array_equal(chains[0]["replace"]["encoder_bias"][0], model0.encoder[1].bias.detach().cpu().numpy())
    other0 = experiment.generation0(train, TINY, 8).encoder[1].bias.detach().cpu().numpy()
    np.testing.assert_array_equal(chains[1]["replace"]["encoder_bias"][0], other0)
    assert not np.array_equal(chains[0]["replace"]["encoder_bias"][0], other0)
    again = experiment.policy_chains(train, measure, TINY, [8], progress=False)[0]
    np.testing.assert_array_equal(again["accumulate"]["encoder_bias"], chains[1]["accumulate"]["encoder_bias"])
    with pytest.raises(ValueError, match="seeds"):
        experiment.policy_chains(train, measure, TINY, [], progress=False)


def test_cli_runs_resumes_and_writes_checkpoints(tmp_path, monkeypatch):
    tiny = {**experiment.PRESETS["ci"], "n_train": 128, "epochs": 1, "n_generations": 1, "policy_generations": 1,
            "policy_chains": 2, "n_measure": 50}
    monkeypatch.setitem(experiment.PRESETS, "ci", tiny)
    monkeypatch.setattr(sys, "argv", ["collapsebook"])
    out = tmp_path / "run"
    assert cli.main(["run", "vae", "--scale", "ci", "--out", str(out), "--no-progress"]) == 0
    assert (out / "fresh" / "generation_00001.safetensors").exists()
    rows = json.loads((out / "fresh_metrics.json").read_text())
    assert len(rows) == 2 and {"latent_std", "outside_99", "class_frequencies"} <= set(rows[0])
    for seed in (0, 1):
        assert len(loop.History.load(out / "chains" / f"seed_{seed}" / "accumulate")) == 2
    assert (out / "chains" / "seed_1" / "generation0" / "generation_00000.safetensors").exists()
    (out / "fresh" / "generation_00001.safetensors").unlink()  # as if interrupted during generation 1
    assert cli.main(["run", "vae", "--scale", "ci", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert (out / "fresh" / "generation_00001.safetensors").exists()


def test_finished_generations_are_read_while_another_run_writes_the_folder(tmp_path, digits):
    images = digits[0][:64]
    settings = {"epochs": 1, "batch_size": 64, "seed": 3, "progress": False}
    saved = vae.recursive_fresh(images, 0, checkpoint_dir=tmp_path, **settings)
    with store.lock(tmp_path):  # a writer holds the folder (the grid's protocol cell training later generations)
        read = vae.recursive_fresh(images, 0, checkpoint_dir=tmp_path, **settings)  # a chain cell reads generation 0
        assert all(torch.equal(p, q) for p, q in zip(read[0].state_dict().values(), saved[0].state_dict().values()))
        with pytest.raises(store.FolderInUse):  # but training into the folder waits its turn
            vae.recursive_fresh(images, 1, checkpoint_dir=tmp_path, **settings)
