import numpy as np
import pytest
from scipy import stats

from collapsebook import loop, ngram

V, BOS = 5, 0
TINY = np.array([[1, 2, 1, 3]])  # padded bigrams (0,1) (1,2) (2,1) (1,3), each once


def tiny(order=2):
    return ngram.fit(TINY, order, vocab_size=V, bos=BOS)


def test_fit_counts_the_padded_ngrams():
    model = tiny()
    pairs = {(int(k // V), int(k % V)): int(c) for k, c in zip(model.keys, model.counts)}
    assert pairs == {(0, 1): 1, (1, 2): 1, (2, 1): 1, (1, 3): 1}
    np.testing.assert_array_equal(ngram.type_counts(model), [0, 2, 1, 1, 0])
    trigram = tiny(3)
    assert trigram.counts.sum() == TINY.size and int(trigram.keys[0]) == (0 * V + 0) * V + 1


def test_kneser_ney_by_hand():
    # rows [1 2 1 2 3]: padded bigrams (0,1) (1,2) (2,1) (1,2) (2,3). Continuation counts (distinct
    # predecessors): token 1 {0, 2}, token 2 {1}, token 3 {2}: 4 in all, 3 types (token 2's raw count is 2)
    model = ngram.fit(np.array([[1, 2, 1, 2, 3]]), 2, vocab_size=V, bos=BOS)
    d = 0.75
    p1 = [(max(n - d, 0) + d * 3 / V) / 4 for n in [0, 2, 1, 1, 0]]
    law = ngram.next_token_probabilities(model, [1], discount=d)
    # context 1 was followed by 2 twice: c(1) = 2, one follower
    assert law[2] == pytest.approx((2 - d + d * 1 * p1[2]) / 2)
    assert law[3] == pytest.approx(d * 1 * p1[3] / 2)
    unseen = ngram.next_token_probabilities(model, [4], discount=d)  # unseen context: the unigram level
    np.testing.assert_allclose(unseen, p1)


def test_add_k_by_hand():
    law = ngram.next_token_probabilities(tiny(), [1], smoothing="add-k", k=1.0)
    np.testing.assert_allclose(law, np.array([1, 1, 2, 2, 1]) / 7)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("smoothing", [{"discount": 0.75}, {"discount": 1.0}, {"smoothing": "add-k", "k": 0.1}])
def test_smoothed_laws_sum_to_one_and_are_positive(order, smoothing):
    data = np.random.default_rng(0).integers(0, 7, size=(20, 15))
    model = ngram.fit(data, order, vocab_size=9, bos=8)
    for context in ([8, 8], [1, 2], [3, 7], [8, 4]):  # seen, unseen and padded contexts
        law = ngram.next_token_probabilities(model, context, **smoothing)
        assert law.sum() == pytest.approx(1.0, abs=1e-12) and law.min() > 0


def test_log_probs_match_the_laws_token_by_token():
    data = np.random.default_rng(1).integers(0, 6, size=(8, 6))
    model = ngram.fit(data, 3, vocab_size=6, bos=0)
    scores = ngram.log_probs(model, data[:2])
    row = data[1]
    law = ngram.next_token_probabilities(model, row[:3])
    assert scores[1, 3] == pytest.approx(np.log(law[row[3]]))
    assert ngram.perplexity(model, data) == pytest.approx(np.exp(-ngram.log_probs(model, data).mean()))


def reference_filter(p, temperature=1.0, top_k=None, top_p=1.0):
    """The filters on one probability vector, written plainly (transformers' order)."""
    p = np.asarray(p, float)
    if temperature == 0:
        out = np.zeros_like(p)
        out[np.argmax(p)] = 1.0
        return out
    q = np.where(p > 0, p, 0.0) ** (1 / temperature)
    q /= q.sum()
    order = sorted(np.flatnonzero(q), key=lambda i: (-q[i], i))
    if top_k is not None:
        order = order[:top_k]
    q_kept = q[order] / q[order].sum()
    kept = [i for i, before in zip(order, np.cumsum(q_kept) - q_kept) if before < top_p]
    out = np.zeros_like(p)
    out[kept] = q[kept] / q[kept].sum()
    return out


FILTERS = [{}, {"temperature": 0.5}, {"temperature": 2.0}, {"top_k": 2}, {"top_p": 0.6}, {"top_p": 0.5},
           {"temperature": 0.7, "top_k": 3, "top_p": 0.8}, {"temperature": 0.0}]
COUNTS = np.array([50, 30, 12, 5, 2, 1])  # after the padding context; top_p=0.5 is reached by the first exactly


def skewed_model():
    first = np.repeat(np.arange(1, 7), COUNTS)  # one row per count: the law of the first token is COUNTS
    rows = np.stack([first, np.random.default_rng(3).integers(1, 7, len(first))], axis=1)
    return ngram.fit(rows, 2, vocab_size=7, bos=0)


@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_filtered_laws_match_the_plain_reference(filters):
    model = skewed_model()
    law = ngram.sampler(model, **filters)[1]
    first = law.tokens[law.starts[0]:law.stops[0]], law.probs[law.starts[0]:law.stops[0]]
    got = np.zeros(7)
    got[first[0]] = first[1]
    np.testing.assert_allclose(got, reference_filter(np.append(0, COUNTS / COUNTS.sum()), **filters), atol=1e-12)


@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_sampled_frequencies_follow_the_filtered_law(filters):
    model, n = skewed_model(), 40_000
    tokens = ngram.sample(model, n, 1, np.random.default_rng(4), **filters)[:, 0]
    expected = reference_filter(np.append(0, COUNTS / COUNTS.sum()), **filters) * n
    observed = np.bincount(tokens, minlength=7)
    support = expected > 0
    assert observed[~support].sum() == 0  # filtered-out tokens are never drawn
    if support.sum() > 1:
        assert stats.chisquare(observed[support], expected[support]).pvalue > 1e-4


def test_second_tokens_follow_the_bigram_counts_of_their_context():
    model, n = skewed_model(), 30_000
    rows = ngram.sample(model, n, 2, np.random.default_rng(5))
    keys, counts = ngram.table(model, 2)
    after_one = keys // 7 == 1
    law = np.zeros(7)
    law[keys[after_one] % 7] = counts[after_one] / counts[after_one].sum()
    observed = np.bincount(rows[rows[:, 0] == 1, 1], minlength=7)
    support = law > 0
    assert observed[~support].sum() == 0
    assert stats.chisquare(observed[support], law[support] * observed.sum()).pvalue > 1e-4


def test_a_dead_end_context_backs_off_and_lost_types_never_return():
    model = ngram.fit(np.array([[1, 2, 1, 3]]), 2, vocab_size=6, bos=0)  # 3 ends the row: never followed
    rows = ngram.sample(model, 2000, 12, np.random.default_rng(6))
    assert set(np.unique(rows)) <= {1, 2, 3}  # 0 is padding, 4 and 5 were never seen
    after_three = rows[:, 1:][rows[:, :-1] == 3]
    assert after_three.size and set(np.unique(after_three)) <= {1, 2, 3}  # the unigram law


@pytest.mark.parametrize("order", [1, 2])
def test_a_type_seen_once_is_lost_with_probability_e_to_the_minus_one(order):
    # 3,000 hapaxes among M = 60,000 tokens: each is missed by the next sample with probability
    # (1 - 1/M)^M ~ e^-1; binomial standard error over the hapaxes, 4 s.e. (their losses are nearly independent)
    rng = np.random.default_rng(7)
    tokens = np.concatenate([np.arange(10, 3010), rng.integers(1, 10, 57_000)])
    data = rng.permutation(tokens).reshape(-1, 20)
    fam = ngram.family(order, 3010, 0, 20)
    samples = fam.sample(fam.fit(data, rng), len(data), rng)
    lost = 1 - np.isin(np.arange(10, 3010), samples).mean()
    m = data.size
    expected = (1 - 1 / m) ** m
    assert abs(lost - expected) < 4 * np.sqrt(expected * (1 - expected) / 3000)


def test_the_loop_runs_the_family_under_both_policies():
    rng = np.random.default_rng(8)
    data = rng.zipf(1.6, size=(200, 16)) % 50
    test = rng.zipf(1.6, size=(40, 16)) % 50
    fam = ngram.family(2, 50, 0, 16, top_p=0.9)
    replace = loop.run(fam, data, 6, seed=1, measure=ngram.measure(test), progress=False)
    assert np.all(np.diff(replace["vocabulary"]) <= 0)  # types are lost, never regained
    assert replace["perplexity"][-1] > replace["perplexity"][0]
    np.testing.assert_array_equal(replace["type_counts"][0], np.bincount(data.ravel(), minlength=50))
    accumulate = loop.run(fam, data, 3, policy="accumulate", seed=1, progress=False)
    assert accumulate["counts"][-1].sum() == 4 * data.size  # D0 + S1 + S2 + S3, merged counts


def test_merge_equals_fitting_the_concatenation():
    rng = np.random.default_rng(9)
    a, b = rng.integers(0, 8, (30, 5)), rng.integers(0, 8, (20, 5))
    merged = ngram.merge(ngram.fit(a, 3, vocab_size=8, bos=0), ngram.fit(b, 3, vocab_size=8, bos=0))
    whole = ngram.fit(np.concatenate([a, b]), 3, vocab_size=8, bos=0)
    np.testing.assert_array_equal(merged.keys, whole.keys)
    np.testing.assert_array_equal(merged.counts, whole.counts)


def test_metrics_of_the_chapter():
    counts_by_generation = np.array([[3, 1, 2, 0], [3, 0, 2, 0], [4, 0, 0, 0]])
    np.testing.assert_allclose(ngram.kept_share(counts_by_generation, counts_by_generation[0], 1, 2), [1, 0.5, 0])
    np.testing.assert_array_equal(ngram.rank_frequency([3, 0, 5, 1]), [5, 3, 1])
    assert ngram.entropy([1, 1, 0, 2]) == pytest.approx(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)))
    deterministic = ngram.fit(np.array([[1, 2, 1, 2]]), 2, vocab_size=3, bos=0)  # 2 always follows 1, ...
    assert ngram.conditional_entropy(deterministic) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("call, name", [
    (lambda: ngram.fit(TINY, 0, vocab_size=V, bos=BOS), "order"),
    (lambda: ngram.fit(TINY, 5, vocab_size=V, bos=BOS), "order"),
    (lambda: ngram.fit(TINY, 2, vocab_size=1, bos=0), "vocab_size"),
    (lambda: ngram.fit(TINY, 2, vocab_size=V, bos=V), "bos"),
    (lambda: ngram.fit(np.array([[1, 9]]), 2, vocab_size=V, bos=BOS), "data"),
    (lambda: ngram.fit(np.array([1.0, 2.0]), 2, vocab_size=V, bos=BOS), "data"),
    (lambda: ngram.sample(tiny(), 3, 4, np.random.default_rng(), top_p=0.0), "top_p"),
    (lambda: ngram.sample(tiny(), 3, 4, np.random.default_rng(), top_p=1.5), "top_p"),
    (lambda: ngram.sample(tiny(), 3, 4, np.random.default_rng(), top_k=0), "top_k"),
    (lambda: ngram.sample(tiny(), 3, 4, np.random.default_rng(), temperature=-1.0), "temperature"),
    (lambda: ngram.sample(tiny(), 0, 4, np.random.default_rng()), "n_rows"),
    (lambda: ngram.log_probs(tiny(), TINY, smoothing="witten-bell"), "smoothing"),
    (lambda: ngram.log_probs(tiny(), TINY, discount=0.0), "discount"),
    (lambda: ngram.log_probs(tiny(), TINY, smoothing="add-k", k=0.0), "k"),
    (lambda: ngram.kept_share(np.zeros((2, 3)), np.array([1, 1, 1]), 5, 9), "between"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_unseen_mass_counts_test_tokens_of_types_absent_from_the_first_tokens():
    from collapsebook.experiments import tails

    train = np.array([5, 6, 5, 7, 8])
    test = np.array([5, 7, 9, 9])
    # after 1 token only type 5 is known; after 4, types 5, 6, 7; type 9 is never seen
    np.testing.assert_allclose(tails.unseen_mass(train, test, [1, 4, 5]), [0.75, 0.5, 0.5])


def test_the_tails_cells_have_grid_names_and_distinct_chain_seeds():
    from collapsebook import grid
    from collapsebook.experiments import tails

    for preset in tails.PRESETS.values():
        cells = tails.cells(preset)
        names = [grid.cell_name(c) for c in cells]
        assert len(set(names)) == len(names)
        chains = [c for c in cells if "sampling" in c]
        assert len(chains) == len(preset["samplings"]) * preset["replicates"]
        seeds = {tails.chain_seed(0, c["sampling"], c["replicate"]) for c in chains}
        assert len(seeds) == len(chains)


def test_a_resumed_chain_equals_an_uninterrupted_one(tmp_path):
    rng = np.random.default_rng(10)
    data = rng.zipf(1.5, size=(100, 12)) % 40
    fam = ngram.family(2, 40, 0, 12, top_p=0.95)
    straight = loop.run(fam, data, 5, seed=3, progress=False)
    loop.run(fam, data, 2, seed=3, checkpoint_dir=tmp_path, progress=False)  # interrupted after generation 2
    resumed = loop.run(fam, data, 5, seed=3, checkpoint_dir=tmp_path, progress=False)
    assert len(resumed) == 6
    for a, b in zip(straight.records, resumed.records):  # models of different sizes: compare record by record
        for key in ("keys", "counts"):
            np.testing.assert_array_equal(a[key], b[key])
