import dataclasses
import json
import socket

import numpy as np
import pytest

from collapsebook import discrete, gaussian, loop, store

LAW = np.array([0.5, 0.3, 0.15, 0.04, 0.01])


def marked_family():
    """Samples are -1, so original points (>= 0) can be told apart in every training set."""
    return loop.Family(
        fit=lambda data, rng: {"n_original": np.sum(data >= 0), "size": np.array(data.shape[0])},
        sample=lambda model, n, rng: -np.ones(n),
    )


def chains_data(n_chains=40, m=50, seed=0):
    return discrete.sample(np.broadcast_to(LAW, (n_chains, LAW.size)), m, np.random.default_rng(seed))


@pytest.mark.parametrize("policy, sizes", [
    ("replace", [10, 10, 10, 10]),
    ("accumulate", [10, 20, 30, 40]),
    ("accumulate-subsample", [10, 10, 10, 10]),
])
def test_policies_form_training_sets_of_the_documented_size(policy, sizes):
    history = loop.run(marked_family(), np.arange(10.0), 3, policy=policy, progress=False)
    assert history["n_train"].tolist() == sizes
    assert history["generation"].tolist() == [0, 1, 2, 3]


def test_replace_forgets_the_original_and_accumulate_keeps_it():
    replace = loop.run(marked_family(), np.arange(10.0), 3, policy="replace", progress=False)
    accumulate = loop.run(marked_family(), np.arange(10.0), 3, policy="accumulate", progress=False)
    assert replace["n_original"].tolist() == [10, 0, 0, 0]
    assert accumulate["n_original"].tolist() == [10, 10, 10, 10]


@pytest.mark.parametrize("fraction, kept", [(0.0, 0), (0.1, 2), (0.5, 10), (1.0, 20)])
def test_original_fraction_keeps_that_share_of_original_points(fraction, kept):
    history = loop.run(marked_family(), np.arange(20.0), 4, original_fraction=fraction, progress=False)
    assert history["n_original"][1:].tolist() == [kept] * 4


def labelled_family():
    """Generation g samples points all labelled g + 1 (one more than the largest label it trained on); original
    points are negative, so every training set shows which blocks it holds (see :func:`blocks`)."""
    return loop.Family(fit=lambda data, rng: {"label": np.array(max(data.max(), 0.0) + 1)},
                       sample=lambda model, n, rng: np.full(n, model["label"]))


def blocks(model, train, g):
    """How many points of each block the training set holds (label 0: original data), and distinct originals."""
    originals = train[train < 0]
    return {"blocks": np.bincount(np.maximum(train, 0).astype(int), minlength=8),
            "n_originals": originals.size, "distinct_originals": np.unique(originals).size}


def run_labelled(policy, n_generations=4, n_original=10, **kwargs):
    return loop.run(labelled_family(), -np.arange(1.0, n_original + 1), n_generations, policy=policy,
                    measure=blocks, progress=False, **kwargs)


@pytest.mark.parametrize("policy, expected", [
    ("replace", [[10, 0, 0, 0, 0], [0, 10, 0, 0, 0], [0, 0, 10, 0, 0], [0, 0, 0, 10, 0], [0, 0, 0, 0, 10]]),
    ("accumulate", [[10, 0, 0, 0, 0], [10, 10, 0, 0, 0], [10, 10, 10, 0, 0], [10, 10, 10, 10, 0],
                    [10, 10, 10, 10, 10]]),
])
def test_training_sets_hold_exactly_the_documented_blocks(policy, expected):
    """Generation g trains on D0 (g = 0), then on S_g (replace) or D0 + S_1 + ... + S_g (accumulate): no block
    dropped, duplicated or taken from another generation."""
    history = run_labelled(policy)
    np.testing.assert_array_equal(history["blocks"][:, :5], expected)
    assert history["blocks"][:, 5:].sum() == 0


def test_original_fraction_draws_distinct_original_points_into_every_block():
    replace = run_labelled("replace", n_original=20, original_fraction=0.2)
    np.testing.assert_array_equal(replace["blocks"][1:, 0], 4)
    np.testing.assert_array_equal(replace["blocks"][1:, 1:5], 16 * np.eye(4))
    np.testing.assert_array_equal(replace["distinct_originals"], replace["n_originals"])  # without replacement
    accumulate = run_labelled("accumulate", n_original=20, original_fraction=0.2)
    assert accumulate["n_originals"].tolist() == [20, 24, 28, 32, 36]  # D0 and 4 kept points in each block


def test_accumulate_subsample_draws_uniformly_from_the_whole_pool_without_replacement():
    """Generation 3 subsamples 1,000 of the 4,000 pooled points: each of the 4 blocks gives a hypergeometric count,
    mean 250, s.d. 11.9; 5 s.d. bound. The 1,000 originals drawn are distinct."""
    history = run_labelled("accumulate-subsample", n_generations=3, n_original=1000)
    sd = np.sqrt(1000 * 0.25 * 0.75 * 3000 / 3999)
    assert np.all(np.abs(history["blocks"][3, :4] - 250) <= 5 * sd), history["blocks"][3]
    assert history["blocks"][3].sum() == 1000
    np.testing.assert_array_equal(history["distinct_originals"], history["n_originals"])


def test_each_generation_samples_with_its_own_random_stream():
    """Generation g's new points are the first draws of generation_rng(seed, g): no stream reused or shifted."""
    family = loop.Family(fit=lambda data, rng: {}, sample=lambda model, n, rng: rng.random(n))
    history = loop.run(family, np.zeros(5), 4, seed=3, progress=False,
                       measure=lambda model, train, g: {"train": train.copy()})
    for g in range(1, 5):
        np.testing.assert_array_equal(history["train"][g], loop.generation_rng(3, g).random(5))


def test_sample_size_schedule_is_followed():
    history = loop.run(marked_family(), np.arange(5.0), 4, n_samples=lambda g: 5 * 2**g, progress=False)
    assert history["n_train"].tolist() == [5, 10, 20, 40, 80]


def test_many_chains_along_sample_axis_one():
    data = chains_data()
    history = loop.run(discrete.family(LAW.size), data, 5, policy="accumulate", sample_axis=1, progress=False)
    assert history["p"].shape == (6, 40, LAW.size)
    np.testing.assert_allclose(history["p"].sum(axis=-1), 1.0)
    assert history["n_train"].tolist() == [50 * (g + 1) for g in range(6)]


def test_same_seed_same_run_and_other_seed_other_run():
    data = chains_data()
    run = lambda seed: loop.run(discrete.family(5), data, 5, seed=seed, sample_axis=1, progress=False)["p"]
    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_generation_rngs_are_reproducible_and_distinct():
    a = loop.generation_rng(7, 2).random(4)
    np.testing.assert_array_equal(a, loop.generation_rng(7, 2).random(4))
    assert not np.array_equal(a, loop.generation_rng(7, 3).random(4))
    assert not np.array_equal(a, loop.generation_rng(8, 2).random(4))


class Interrupted(Exception):
    pass


def interrupt_at(generation):
    def measure(model, train, g):
        if g == generation:
            raise Interrupted
        return {"train_mean": train.mean()}
    return measure


@pytest.mark.parametrize("policy", loop.POLICIES)
def test_resumed_run_equals_uninterrupted_run_bit_for_bit(tmp_path, policy):
    data = chains_data()
    kwargs = dict(policy=policy, original_fraction=0.1, sample_axis=1, seed=11, progress=False)
    measure = lambda model, train, g: {"train_mean": train.mean()}
    whole = loop.run(discrete.family(5), data, 8, measure=measure, **kwargs)

    with pytest.raises(Interrupted):
        loop.run(discrete.family(5), data, 8, measure=interrupt_at(5), checkpoint_dir=tmp_path, **kwargs)
    assert len(list(tmp_path.glob("generation_*.npz"))) == 5  # generations 0-4 survived the failure
    resumed = loop.run(discrete.family(5), data, 8, measure=measure, checkpoint_dir=tmp_path, **kwargs)

    assert len(resumed) == len(whole) == 9
    for key in whole.keys():
        np.testing.assert_array_equal(resumed[key], whole[key])
        assert resumed[key].dtype == whole[key].dtype


def test_resume_does_not_redo_finished_generations(tmp_path):
    calls = []
    family = loop.Family(fit=lambda d, r: calls.append(1) or {"m": d.mean()}, sample=lambda m, n, r: r.random(n))
    loop.run(family, np.zeros(4), 3, checkpoint_dir=tmp_path, progress=False)
    loop.run(family, np.zeros(4), 5, checkpoint_dir=tmp_path, progress=False)
    assert len(calls) == 4 + 2
    assert len(loop.run(family, np.zeros(4), 2, checkpoint_dir=tmp_path, progress=False)) == 3
    assert len(calls) == 6


def folder_bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("change, named", [
    ({"policy": "accumulate"}, "policy"), ({"seed": 1}, "seed"), ({"n_samples": 40}, "n_samples"),
    ({"data": chains_data(seed=1)}, "data"), ({"data": chains_data(n_chains=20)}, "data"),
    ({"original_fraction": 0.1}, "original_fraction"),
])
def test_resume_with_other_settings_is_refused_naming_them_and_changes_nothing(tmp_path, change, named):
    settings = {"data": chains_data(), "seed": 0}
    loop.run(discrete.family(5), settings.pop("data"), 2, sample_axis=1, checkpoint_dir=tmp_path, progress=False,
             **settings)
    before = folder_bytes(tmp_path)
    arguments = {"data": chains_data(), "seed": 0, **change}
    with pytest.raises(ValueError, match=f"holds a run with other settings: .*{named}"):
        loop.run(discrete.family(5), arguments.pop("data"), 4, sample_axis=1, checkpoint_dir=tmp_path,
                 progress=False, **arguments)
    assert folder_bytes(tmp_path) == before


def test_a_damaged_checkpoint_is_reported_with_its_path(tmp_path):
    loop.run(discrete.family(5), chains_data(), 3, sample_axis=1, checkpoint_dir=tmp_path, progress=False)
    damaged = tmp_path / "generation_00002.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(store.DamagedFile, match="generation_00002.npz is damaged"):
        loop.run(discrete.family(5), chains_data(), 4, sample_axis=1, checkpoint_dir=tmp_path, progress=False)


def test_a_folder_another_process_writes_is_refused(tmp_path):
    with store.lock(tmp_path):  # as if another run held it
        pass
    (tmp_path / store.LOCK).write_text(f"{socket.gethostname()} 1")  # pid 1 is alive and is not us
    with pytest.raises(store.FolderInUse, match="is being written by process 1"):
        loop.run(discrete.family(5), chains_data(), 1, sample_axis=1, checkpoint_dir=tmp_path, progress=False)
    assert not list(tmp_path.glob("generation_*"))


def test_history_round_trips_through_json_and_the_checkpoint_folder(tmp_path):
    data = chains_data()
    history = loop.run(discrete.family(5), data, 3, sample_axis=1, checkpoint_dir=tmp_path / "run", progress=False)
    history.save_json(tmp_path / "history.json")
    assert isinstance(json.loads((tmp_path / "history.json").read_text()), list)
    for loaded in (loop.History.load(tmp_path / "history.json"), loop.History.load(tmp_path / "run")):
        assert loaded.keys() == history.keys()
        np.testing.assert_array_equal(loaded["p"], history["p"])


def test_a_checkpoint_holds_the_model_once_and_a_measure_that_shadows_it(tmp_path):
    def shadow(model, train, g):
        return {"p": np.full_like(model["p"], -1.0), "n_points": train.shape[1]}

    history = loop.run(discrete.family(5), chains_data(), 2, sample_axis=1, measure=shadow,
                       checkpoint_dir=tmp_path, progress=False)
    saved = store.load_npz(tmp_path / "generation_00001.npz")
    assert "model/p" in saved and "record/n_points" in saved and "record/p" in saved
    plain = loop.run(discrete.family(5), chains_data(), 1, sample_axis=1, checkpoint_dir=tmp_path / "plain",
                     progress=False)
    assert "record/p" not in store.load_npz(tmp_path / "plain" / "generation_00001.npz")
    loaded = loop.History.load(tmp_path)
    assert loaded.keys() == history.keys()
    np.testing.assert_array_equal(loaded["p"], -1.0)  # the measure's value, not the model's
    np.testing.assert_array_equal(loop.History.load(tmp_path / "plain")["p"], plain["p"])


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_generations=-1), "n_generations"),
    (dict(policy="keep-all"), "policy"),
    (dict(original_fraction=1.5), "original_fraction"),
    (dict(original_fraction=-0.1), "original_fraction"),
    (dict(n_samples=0), "n_samples"),
    (dict(n_samples=lambda g: 0), "n_samples"),
    (dict(seed=-3), "seed"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    args = dict(n_generations=2) | kwargs
    with pytest.raises(ValueError, match=name):
        loop.run(marked_family(), np.arange(4.0), args.pop("n_generations"), progress=False, **args)


def test_keeping_more_original_points_than_exist_is_refused():
    with pytest.raises(ValueError, match="original_fraction"):
        loop.run(marked_family(), np.arange(4.0), 2, n_samples=100, original_fraction=0.5, progress=False)


# ---- accumulate through running statistics (families with update / fit_state) against refitting the pool ----

def refit_only(family):
    """The same family without its running statistics: accumulate then refits the whole pool."""
    return dataclasses.replace(family, update=None, fit_state=None)


def gaussian_chains(shape=(30, 20), seed=1):
    return np.random.default_rng(seed).normal(3.0, 2.0, shape)


@pytest.mark.parametrize("family, data", [
    (gaussian.family("unbiased"), gaussian_chains()),
    (gaussian.family("mle"), gaussian_chains()),
    (gaussian.family("unbiased", multivariate=True), gaussian_chains((30, 20, 3))),
], ids=["1d-unbiased", "1d-mle", "3d"])
def test_running_moments_fit_what_refitting_the_pool_fits(family, data):
    kwargs = dict(policy="accumulate", original_fraction=0.25, n_samples=lambda g: 10 + g, seed=5, sample_axis=1,
                  progress=False)
    running = loop.run(family, data, 12, **kwargs)
    refit = loop.run(refit_only(family), data, 12, **kwargs)
    assert running.keys() == refit.keys()
    np.testing.assert_array_equal(running["n_train"], refit["n_train"])
    for key in running.keys():
        np.testing.assert_allclose(running[key], refit[key], rtol=1e-12, atol=1e-13, err_msg=key)
    assert not np.array_equal(running["mean"][-1], running["mean"][0])  # the chains moved: a real comparison


def test_running_counts_fit_exactly_what_refitting_the_pool_fits():
    kwargs = dict(policy="accumulate", original_fraction=0.1, seed=2, sample_axis=1, progress=False)
    running = loop.run(discrete.family(5), chains_data(), 10, **kwargs)
    refit = loop.run(refit_only(discrete.family(5)), chains_data(), 10, **kwargs)
    np.testing.assert_array_equal(running["p"], refit["p"])


def test_accumulate_with_running_statistics_fits_each_block_once():
    """With update/fit_state the loop never refits the pool: fit runs once (generation 0), update once a block."""
    calls = {"fit": 0, "update": 0}

    def counted(name, fn):
        return lambda *args: calls.__setitem__(name, calls[name] + 1) or fn(*args)

    family = gaussian.family()
    family = dataclasses.replace(family, fit=counted("fit", family.fit), update=counted("update", family.update))
    history = loop.run(family, gaussian_chains(), 6, policy="accumulate", sample_axis=1, progress=False)
    assert calls == {"fit": 1, "update": 7}
    assert history["n_train"].tolist() == [20 * (g + 1) for g in range(7)]


@pytest.mark.parametrize("family, data", [
    (gaussian.family(), gaussian_chains()),
    (gaussian.family(multivariate=True), gaussian_chains((30, 20, 2))),
    (discrete.family(5), chains_data()),
], ids=["gaussian", "gaussian-2d", "discrete"])
def test_resumed_running_statistics_equal_an_uninterrupted_run_bit_for_bit(tmp_path, family, data):
    kwargs = dict(policy="accumulate", original_fraction=0.1, sample_axis=1, seed=4, progress=False)
    whole = loop.run(family, data, 9, **kwargs)
    loop.run(family, data, 4, checkpoint_dir=tmp_path, **kwargs)  # stopped after generation 4
    resumed = loop.run(family, data, 9, checkpoint_dir=tmp_path, **kwargs)
    for key in whole.keys():
        np.testing.assert_array_equal(resumed[key], whole[key], err_msg=key)


def test_the_pool_keeps_every_block_through_growth_and_a_wider_dtype():
    """Integer originals, then float samples of growing sizes: the refitted pool is D0 + S1 + ... + Sg."""
    family = loop.Family(fit=lambda data, rng: {"label": np.array(max(data.max(), 0.0) + 1)},
                         sample=lambda model, n, rng: np.full(n, float(model["label"])))
    history = loop.run(family, -np.arange(1, 4), 5, policy="accumulate", n_samples=lambda g: 2**g,
                       measure=lambda model, train, g: {"train": np.pad(train, (0, 80 - train.size))}, progress=False)
    expected = np.concatenate([[-1, -2, -3]] + [np.full(2**g, g) for g in range(1, 6)])
    np.testing.assert_array_equal(history["train"][-1][: expected.size], expected)
    assert history["train"].dtype == float


def test_a_family_cannot_change_the_pool_it_is_fitted_to():
    def fit_in_place(data, rng):
        data *= 0
        return {}

    family = loop.Family(fit=fit_in_place, sample=lambda model, n, rng: rng.random(n))
    with pytest.raises(ValueError, match="read-only"):
        loop.run(family, np.ones(4), 2, policy="accumulate", progress=False)


def test_update_without_fit_state_is_refused():
    with pytest.raises(ValueError, match="fit_state"):
        loop.Family(fit=lambda d, r: {}, sample=lambda m, n, r: np.zeros(n), update=lambda s, b: s)


def test_draws_without_replacement_are_independent_across_chains():
    chains = np.tile(np.arange(50.0), (400, 1))[..., None]  # (chains, points, 1): every chain holds 0..49
    drawn = loop.draw_without_replacement(chains, 10, np.random.default_rng(0), axis=1)
    assert drawn.shape == (400, 10, 1)
    assert all(len(set(row)) == 10 for row in drawn[..., 0])  # without replacement within a chain
    assert len({tuple(row) for row in drawn[..., 0]}) == 400  # and a different draw for every chain
    counts = np.bincount(drawn[..., 0].astype(int).ravel(), minlength=50)  # uniform: 80 expected per point
    assert np.all(np.abs(counts - 80) < 5 * np.sqrt(80))


def chain_marked_family():
    """Chains along axis 0, points along axis 1; originals are 0, 1, ... and samples are -1, so a fit can tell
    which originals each chain's training set holds."""
    return loop.Family(
        fit=lambda data, rng: {"n_original": np.sum(data >= 0, axis=1),
                               "sum_original": np.where(data >= 0, data, 0).sum(axis=1)},
        sample=lambda model, n, rng: -np.ones((len(model["n_original"]), n)),
    )


def test_accumulate_subsample_and_kept_originals_are_drawn_per_chain():
    data = np.tile(np.arange(10.0), (200, 1))  # 200 chains holding the same 10 originals
    subsample = loop.run(chain_marked_family(), data, 2, policy="accumulate-subsample", sample_axis=1,
                         progress=False)
    assert np.unique(subsample["n_original"][2]).size > 3  # 10 of 30 pooled points: how many are original varies
    kept = loop.run(chain_marked_family(), data, 1, original_fraction=0.3, sample_axis=1, progress=False)
    assert np.all(kept["n_original"][1] == 3) and np.unique(kept["sum_original"][1]).size > 10  # which 3 varies


# ---- fresh real data in every block, and several policies in one call ----------------------------------------

def fresh_source(n, rng):
    """Fresh real points, told apart from originals (negative) and samples (small positive labels): >= 100."""
    return 100 + rng.random(n)


def fresh_labelled_family():
    """:func:`labelled_family` that labels its samples by the newest sampled label, ignoring fresh points."""
    label = lambda data: np.array(max(np.max(data, where=data < 100, initial=0.0), 0.0) + 1)
    return loop.Family(fit=lambda data, rng: {"label": label(data)},
                       sample=lambda model, n, rng: np.full(n, model["label"]))


def fresh_counts(model, train, g):
    fresh = train[train >= 100]
    return {"n_fresh": fresh.size, "distinct_fresh": np.unique(fresh).size, "n_sampled": np.sum((train > 0) &
            (train < 100)), "n_originals": np.sum(train < 0), "fresh_sum": fresh.sum()}


@pytest.mark.parametrize("policy, fresh, sampled", [
    ("replace", [0, 3, 3, 3, 3], [0, 7, 7, 7, 7]),
    ("accumulate", [0, 3, 6, 9, 12], [0, 7, 14, 21, 28]),
])
def test_fresh_fraction_puts_that_share_of_new_real_points_in_every_block(policy, fresh, sampled):
    history = loop.run(fresh_labelled_family(), -np.arange(1.0, 11), 4, policy=policy, fresh_fraction=0.3,
                       fresh=fresh_source, measure=fresh_counts, progress=False)
    assert history["n_fresh"].tolist() == fresh
    assert history["n_sampled"].tolist() == sampled
    np.testing.assert_array_equal(history["distinct_fresh"], history["n_fresh"])  # new points every generation


def test_fresh_and_original_shares_together_fill_the_block():
    history = loop.run(fresh_labelled_family(), -np.arange(1.0, 21), 3, fresh_fraction=0.25, original_fraction=0.25,
                       fresh=fresh_source, measure=fresh_counts, progress=False)
    assert history["n_fresh"][1:].tolist() == [5, 5, 5]
    assert history["n_originals"].tolist() == [20, 5, 5, 5]
    assert history["n_sampled"][1:].tolist() == [10, 10, 10]


def test_fresh_points_come_from_the_generations_own_stream_per_chain():
    """Fresh points of chains along axis 1: drawn by the source with generation g's rng, one set per chain."""
    source = lambda n, rng: 100 + rng.random((50, n))
    history = loop.run(chain_marked_family(), np.tile(np.arange(10.0), (50, 1)), 2, fresh_fraction=1.0,
                       fresh=source, sample_axis=1, seed=4, progress=False,
                       measure=lambda model, train, g: {"train": train.copy()})
    for g in (1, 2):
        np.testing.assert_array_equal(history["train"][g], source(10, loop.generation_rng(4, g)))


@pytest.mark.parametrize("kwargs, name", [
    (dict(fresh_fraction=0.2), "fresh"),
    (dict(fresh_fraction=1.2, fresh=fresh_source), "fresh_fraction"),
    (dict(fresh_fraction=0.6, original_fraction=0.6, fresh=fresh_source), "original_fraction \\+ fresh_fraction"),
    (dict(fresh_fraction=0.5, fresh=lambda n, rng: np.zeros(n + 1)), "fresh\\(n=2"),
])
def test_bad_fresh_settings_are_refused_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        loop.run(marked_family(), np.arange(4.0), 2, progress=False, **kwargs)


def test_a_fresh_run_resumes_bit_for_bit_and_its_folder_records_the_share(tmp_path):
    run = lambda n, folder=None: loop.run(discrete.family(5), chains_data(), n, fresh_fraction=0.2,
                                          fresh=lambda k, rng: discrete.sample(np.broadcast_to(LAW, (40, 5)), k, rng),
                                          sample_axis=1, seed=2, checkpoint_dir=folder, progress=False)
    run(2, tmp_path)  # a run stopped after 2 generations, then resumed
    np.testing.assert_array_equal(run(5, tmp_path)["p"], run(5)["p"])
    assert json.loads((tmp_path / "config.json").read_text())["fresh_fraction"] == 0.2
    with pytest.raises(ValueError, match="fresh_fraction"):
        loop.run(discrete.family(5), chains_data(), 5, sample_axis=1, seed=2, checkpoint_dir=tmp_path,
                 progress=False)


def test_compare_policies_equals_one_run_per_policy():
    data = chains_data()
    policies = {"replace": {}, "accumulate": {"policy": "accumulate"},
                "subsample": {"policy": "accumulate-subsample"}, "original-0.2": {"original_fraction": 0.2},
                "fresh-0.2": {"fresh_fraction": 0.2}}
    fresh = lambda k, rng: discrete.sample(np.broadcast_to(LAW, (40, 5)), k, rng)
    runs = loop.compare_policies(discrete.family(5), data, 6, policies, seed=3, sample_axis=1, fresh=fresh,
                                 progress=False)
    assert list(runs) == list(policies)
    for name, own in policies.items():
        alone = loop.run(discrete.family(5), data, 6, seed=3, sample_axis=1, fresh=fresh, progress=False, **own)
        np.testing.assert_array_equal(runs[name]["p"], alone["p"])
    assert len({runs[name]["p"][-1].tobytes() for name in runs}) == len(policies)  # no policy ran twice


def test_compare_policies_by_name_keeps_each_policys_training_sets():
    runs = loop.compare_policies(labelled_family(), -np.arange(1.0, 11), 4, ["replace", "accumulate"],
                                 measure=blocks, progress=False)
    np.testing.assert_array_equal(runs["replace"]["blocks"][:, :5], 10 * np.eye(5))
    np.testing.assert_array_equal(runs["accumulate"]["blocks"][:, :5], 10 * np.tril(np.ones((5, 5))))


def test_compare_policies_checkpoints_each_policy_in_its_folder_and_resumes(tmp_path):
    data, calls = chains_data(), []
    family = discrete.family(5)
    counting = dataclasses.replace(family, fit=lambda d, rng: calls.append(1) or family.fit(d, rng))
    compare = lambda fam, n: loop.compare_policies(fam, data, n, ["replace", "accumulate-subsample"], seed=1,
                                                   sample_axis=1, checkpoint_dir=tmp_path, progress=False)
    compare(family, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accumulate-subsample", "replace"]
    assert json.loads((tmp_path / "replace" / "config.json").read_text())["policy"] == "replace"
    resumed = compare(counting, 5)
    assert len(calls) == 2 * 2  # generations 4 and 5 of each policy, nothing redone
    fresh = loop.compare_policies(family, data, 5, ["replace", "accumulate-subsample"], seed=1, sample_axis=1,
                                  progress=False)
    for name in fresh:
        np.testing.assert_array_equal(resumed[name]["p"], fresh[name]["p"])


@pytest.mark.parametrize("policies, named", [
    ("replace", "policies"), ([], "policies"), (["keep-all"], "policies"), ({"../up": {}}, "folder name"),
    ({"a": {"checkpoint_dir": "x"}}, "checkpoint_dir"), ({"a": {"policy": "bad"}}, "policy"),
])
def test_compare_policies_refuses_bad_policies_naming_them(policies, named):
    with pytest.raises(ValueError, match=named):
        loop.compare_policies(marked_family(), np.arange(4.0), 2, policies, progress=False)
