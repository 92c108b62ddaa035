"""Bad input is refused with an error that names the parameter and what is allowed (issue 13): one table of
the cases that used to pass silently or fail deep inside numpy, matplotlib or the loop."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from collapsebook import discrete, gaussian, gmm, loop, metrics, plotting  # noqa: E402

NAN = float("nan")
RNG = np.random.default_rng(0)
MIXTURE = {"weights": np.array([0.5, 0.5]), "means": np.array([[0.0, 0.0], [3.0, 3.0]]),
           "covariances": np.stack([np.eye(2)] * 2)}


def band(**options):
    fig, ax = plt.subplots()
    try:
        return plotting.quantile_band(ax, [0, 1], np.ones((2, 5)), **options)
    finally:
        plt.close(fig)


CASES = {
    # discrete
    "miss_probability q > 1": (lambda: discrete.miss_probability(1.5, 10),
        ValueError, r"q must be numbers in \[0, 1\], got 1.5"),
    "miss_probability q < 0": (lambda: discrete.miss_probability([0.5, -0.1], 10),
        ValueError, r"q .*\[0, 1\], got -0.1"),
    "miss_probability q nan": (lambda: discrete.miss_probability(NAN, 10), ValueError, r"q .*\[0, 1\], got nan"),
    "counts of float samples": (lambda: discrete.counts(np.array([0.5, 1.2]), 3),
        TypeError, "samples must be integer states"),
    "counts of a scalar": (lambda: discrete.counts(1, 3), ValueError, "samples must be an array"),
    "fit of a scalar": (lambda: discrete.fit(2, 3), ValueError, "samples must be an array"),
    "sample without a Generator": (lambda: discrete.sample([0.5, 0.5], 3, 0),
        TypeError, "rng must be a numpy.random.Generator"),
    "resample without a Generator": (lambda: discrete.resample([0.5, 0.5], 3, None), TypeError, "rng must be"),
    # gmm
    "tail_mass level nan": (lambda: gmm.tail_mass(MIXTURE, NAN, np.zeros((5, 2))),
        ValueError, "level must be a finite number, got nan"),
    "tail_mass level inf": (lambda: gmm.tail_mass(MIXTURE, np.inf, np.zeros((5, 2))),
        ValueError, "level must be a finite number, got inf"),
    "tail_mass level a string": (lambda: gmm.tail_mass(MIXTURE, "low", np.zeros((5, 2))),
        ValueError, "level must be a finite number"),
    "gmm sample without a Generator": (lambda: gmm.sample(MIXTURE, 5, 1),
        TypeError, "rng must be a numpy.random.Generator"),
    "gmm fit without a Generator": (lambda: gmm.fit(RNG.normal(size=(20, 2)), 2, None), TypeError, "rng must be"),
    "batch_runs of no points": (lambda: gmm.batch_runs(0, 2, 2),
        ValueError, "n_points must be an integer >= 1, got 0"),
    # plotting
    "quantile_band reversed": (lambda: band(quantiles=(0.9, 0.1)),
        ValueError, r"quantiles must be \(low, high\) with 0 <= low < high <= 1"),
    "quantile_band equal": (lambda: band(quantiles=(0.5, 0.5)), ValueError, r"0 <= low < high <= 1"),
    "quantile_band three": (lambda: band(quantiles=(0.1, 0.5, 0.9)), ValueError, r"\(low, high\)"),
    "quantile_band above 1": (lambda: band(quantiles=(0.1, 1.5)),
        ValueError, r"quantiles must be numbers in \[0, 1\], got 1.5"),
    "quantile_band nan": (lambda: band(quantiles=(NAN, 0.9)), ValueError, r"quantiles .*got nan"),
    "quantile_band of no runs": (lambda: plotting.quantile_band(None, [], np.ones((0, 3))),
        ValueError, "values must hold at least one run"),
    "panels 0": (lambda: plotting.panels(0), ValueError, "n must be an integer >= 1, got 0"),
    "panels 1.5": (lambda: plotting.panels(1.5), ValueError, "n must be an integer >= 1, got 1.5"),
    "generation_colors -1": (lambda: plotting.generation_colors(-1), ValueError, "n must be an integer >= 0"),
    "animate no frames": (lambda: plotting.animate(None, lambda i: None, 0),
        ValueError, "n_frames must be an integer >= 1"),
    # metrics
    "w2_gaussian_1d mean nan": (lambda: metrics.w2_gaussian_1d(NAN, 1.0, 0.0, 1.0),
        ValueError, "mean1 must be finite"),
    "w2_gaussian mean inf": (lambda: metrics.w2_gaussian([0.0, np.inf], np.eye(2), [0.0, 0.0], np.eye(2)),
        ValueError, "mean1 must be finite"),
    # loop
    "loop sample_axis out of range": (lambda: loop.run(gaussian.family(), np.zeros((3, 4)), 2, sample_axis=5,
                                                       progress=False),
                                      ValueError, r"sample_axis must be an integer in \[0, 1\], got 5"),
    "loop sample_axis negative": (lambda: loop.run(gaussian.family(), np.zeros(4), 2, sample_axis=-1, progress=False),
                                  ValueError, r"sample_axis must be an integer in \[0, 0\], got -1"),
    "loop sample_axis float": (lambda: loop.run(gaussian.family(), np.zeros(4), 2, sample_axis=0.0, progress=False),
                               ValueError, r"sample_axis must be an integer in \[0, 0\], got 0.0"),
    "loop data scalar": (lambda: loop.run(gaussian.family(), 1.0, 2, progress=False),
        ValueError, "data must hold points"),
    "loop family None": (lambda: loop.run(None, np.zeros(4), 2),
        TypeError, "family must be a collapsebook.loop.Family"),
    "loop family a module": (lambda: loop.run(gaussian, np.zeros(4), 2), TypeError, "family must be .*got module"),
}


# The torch modules (chapters 4 and 5), imported only when these cases run: a tiny OPT and a VAE of 8x8 images.
def _torch_setup():
    from collapsebook import devices, lm, vae
    from collapsebook.experiments import lm as lm_experiment

    model = lm._hf().OPTForCausalLM(lm.opt_config(64, 16, 1, 2, 32))
    digits = np.random.default_rng(0).random((16, 8, 8)).astype(np.float32)
    return devices, lm, vae, lm_experiment, model, digits


def _a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


BLOCKS = np.ones((2, 8), dtype=np.int64)
TORCH_CASES = {  # each: (call(devices, lm, vae, lm_experiment, model, digits, tmp_path), error, message)
    # metrics (numpy, used by chapter 4)
    "share_outside values nan": (lambda *_: metrics.share_outside([NAN, 1.0], [0.0, 1.0, 2.0], 0.9),
        ValueError, "values must be finite numbers"),
    "share_outside level nan": (lambda *_: metrics.share_outside([0.0], [0.0, 1.0, 2.0], NAN),
        ValueError, r"level must be a number in \(0, 1\), got nan"),
    "share_outside level a string": (lambda *_: metrics.share_outside([0.0], [0.0, 1.0], "wide"),
        ValueError, r"level must be a number in \(0, 1\), got 'wide'"),
    "share_outside no values": (lambda *_: metrics.share_outside([], [0.0, 1.0], 0.9),
        ValueError, "values must hold at least one number"),
    "tail_mass threshold nan": (lambda *_: metrics.tail_mass([0.5, 0.5], [0.5, 0.5], NAN),
        ValueError, r"threshold must be a number in \[0, 1\], got nan"),
    "w2_gaussian_1d std < 0": (lambda *_: metrics.w2_gaussian_1d(0.0, -1.0, 0.0, 1.0),
        ValueError, "std1 must be finite numbers >= 0"),
    # lm
    "fine_tune min_lr < 0": (lambda d, lm, v, e, model, *_: lm.fine_tune(model, BLOCKS, epochs=1, min_lr=-1),
        ValueError, r"min_lr \(at most lr\) must be a number in \[0, 2e-05\], got -1"),
    "fine_tune min_lr > lr": (lambda d, lm, v, e, model, *_: lm.fine_tune(model, BLOCKS, epochs=1, min_lr=1.0),
        ValueError, r"min_lr .* in \[0, 2e-05\], got 1.0"),
    "fine_tune seed < 0": (lambda d, lm, v, e, model, *_: lm.fine_tune(model, BLOCKS, epochs=1, seed=-1),
        ValueError, "seed must be an integer >= 0, got -1"),
    "fine_tune a token outside the vocabulary": (
        lambda d, lm, v, e, model, *_: lm.fine_tune(model, np.full((2, 8), 64), epochs=1),
        ValueError, r"train must hold token ids, integers in \[0, 63\]"),
    "fine_tune float tokens": (lambda d, lm, v, e, model, *_: lm.fine_tune(model, BLOCKS + 0.5, epochs=1),
        ValueError, "train must hold token ids"),
    "opt_config heads do not divide hidden": (lambda d, lm, *_: lm.opt_config(64, 10, 1, 3, 32),
        ValueError, r"hidden_size must be a multiple of num_attention_heads \(3\), got 10"),
    "opt_config vocab_size 0": (lambda d, lm, *_: lm.opt_config(0, 16, 1, 2, 32),
        ValueError, "vocab_size must be an integer >= 3, got 0"),
    "opt_config dropout nan": (lambda d, lm, *_: lm.opt_config(64, 16, 1, 2, 32, dropout=NAN),
        ValueError, r"dropout must be a number in \[0, 1\]"),
    "plan an unknown setting": (lambda d, lm, v, e, *_: e.plan(e.PRESETS["ci"], settings=("z",)),
        ValueError, "settings must be one of 'b', 'c'; got 'z'"),
    "plan settings a string": (lambda d, lm, v, e, *_: e.plan(e.PRESETS["ci"], settings="bc"),
        TypeError, "settings must be a list of settings"),
    "family weights_dir a file": (lambda d, lm, v, e, model, digits, tmp: lm.family(model, BLOCKS, _a_file(tmp),
                                                                                  epochs=1),
        ValueError, "weights_dir must be a folder .* is a file"),
    "continue_blocks one block as 1-D": (lambda d, lm, v, e, model, *_: lm.continue_blocks(model, np.ones(8, int)),
        ValueError, r"prompts must be a non-empty \(blocks, tokens\) array"),
    "sequence_losses of no sequence": (lambda d, lm, v, e, model, *_: lm.sequence_losses(model, BLOCKS[:0]),
        ValueError, "sequences must be a non-empty"),
    "sequence_losses a token outside the vocabulary": (
        lambda d, lm, v, e, model, *_: lm.sequence_losses(model, np.full((1, 8), 999)),
        ValueError, r"sequences must hold token ids, integers in \[0, 63\]"),
    "distinct_ngrams 1-D": (lambda d, lm, *_: lm.distinct_ngrams(np.ones(8, int), 2),
        ValueError, "sequences must be a non-empty"),
    "distinct_ngrams of nothing": (lambda d, lm, *_: lm.distinct_ngrams(BLOCKS[:0], 2),
        ValueError, "sequences must be a non-empty"),
    "rare_token_share of nothing": (lambda d, lm, *_: lm.rare_token_share(BLOCKS[:0], BLOCKS),
        ValueError, "sequences must hold at least one token"),
    "train_tokenizer of no text": (lambda d, lm, *_: lm.train_tokenizer([], 300),
        ValueError, "texts must be a non-empty list of strings"),
    # vae and devices
    "vae.fit rng None": (lambda d, lm, vae, e, m, digits, _: vae.fit(digits, None, n_steps=1),
        TypeError, "rng must be a numpy.random.Generator"),
    "vae.fit weight_decay < 0": (lambda d, lm, vae, e, m, digits, _: vae.fit(digits, RNG, n_steps=1,
                                                                            weight_decay=-1, progress=False),
        ValueError, r"weight_decay must be a number in \[0, inf\], got -1"),
    "vae.sample rng an int": (lambda d, lm, vae, e, m, digits, _: vae.sample(vae.build(8, RNG), 2, 0),
        TypeError, "rng must be a numpy.random.Generator"),
    "vae.fit_to_teacher rng None": (lambda d, lm, vae, *_: vae.fit_to_teacher(vae.build(8, RNG), None, 1),
        TypeError, "rng must be a numpy.random.Generator"),
    "vae.n_batches of no image": (lambda d, lm, vae, *_: vae.n_batches(0, 8, 1),
        ValueError, "n_images must be an integer >= 1, got 0"),
    "vae.load a folder": (lambda d, lm, vae, e, m, digits, tmp: vae.load(tmp),
        ValueError, "path must be a model file written by vae.save"),
    "recursive_fresh checkpoint_dir a file": (
        lambda d, lm, vae, e, m, digits, tmp: vae.recursive_fresh(digits, 1, epochs=1, batch_size=8,
                                                                  checkpoint_dir=_a_file(tmp), progress=False),
        ValueError, "a_file is a file, not a results folder"),
    "torch_generator rng None": (lambda devices, *_: devices.torch_generator(None),
        TypeError, "rng must be a numpy.random.Generator"),
    "set_threads 0": (lambda devices, *_: devices.set_threads(0), ValueError, "n must be an integer >= 1, got 0"),
}


@pytest.fixture(scope="module")
def torch_setup():
    return _torch_setup()


@pytest.mark.parametrize("case", TORCH_CASES, ids=str)
def test_bad_input_to_the_torch_modules_is_refused_naming_the_parameter(case, torch_setup, tmp_path):
    call, error, message = TORCH_CASES[case]
    with pytest.raises(error, match=message):
        call(*torch_setup, tmp_path)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_naming_the_parameter(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_good_input_still_passes():
    np.testing.assert_allclose(discrete.miss_probability([0.0, 0.5, 1.0], 2), [1.0, 0.25, 0.0])
    assert discrete.counts(np.array([0, 2, 2], dtype=np.uint8), 3).tolist() == [1, 0, 2]
    assert discrete.counts(np.zeros((2, 0), dtype=int), 3).tolist() == [[0, 0, 0], [0, 0, 0]]
    assert discrete.counts([], 3).tolist() == [0, 0, 0]
    assert gmm.tail_mass(MIXTURE, -1e9, np.zeros((5, 2))) == 0.0
    assert band(quantiles=(0.0, 1.0)) is not None
    assert plotting.generation_colors(0) == []
