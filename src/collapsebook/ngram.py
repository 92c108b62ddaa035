"""Chapter 7: an n-gram language model on real text, refitted to its own samples.

Text is an int array of token ids of shape ``(n_rows, length)``: rows of a tokenised corpus (the chapter cuts
the offline Wikipedia corpus of chapter 5 into rows). Every row starts from ``order - 1`` padding tokens
``bos``, so the model counts one n-gram per token and samples rows from the same start.

- :func:`fit` counts the n-grams (``np.unique`` over integer keys, no Python loop over tokens): the counts are
  the model's only parameters, the maximum-likelihood estimate (MLE) ``c(h, w) / c(h)``.
- :func:`sample` draws rows token by token from the MLE, vectorised over rows, with temperature, top-k and
  top-p (nucleus) filters applied to every context's next-token distribution; ``temperature=0`` is greedy.
  A type that is absent from the counts is never sampled again: the chain can only lose types.
  A context that was never followed by a token (seen only at a row's end) backs off to shorter contexts.
- :func:`log_probs` scores real text with interpolated Kneser-Ney smoothing (or add-k), which gives unseen
  tokens a share of the probability, so that held-out perplexity stays finite.
- :func:`family` packs fitting and sampling for :func:`collapsebook.loop.run`; :func:`measure` records the
  chapter's metrics each generation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import check_choice, check_fraction, check_int, check_range
from .loop import Family

SMOOTHINGS = ("kneser-ney", "add-k")


@dataclass(frozen=True)
class NGram:
    """The counts of an order-``order`` model: sorted unique n-gram ``keys`` (tokens as digits in base
    ``vocab_size``, the oldest first) and their ``counts``."""

    order: int
    vocab_size: int
    bos: int
    keys: np.ndarray
    counts: np.ndarray


def _check_text(name, data, vocab_size):
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] < 1 or not np.issubdtype(data.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape (rows, length >= 1), got {data.dtype} "
                         f"{data.shape}")
    if data.size and (data.min() < 0 or data.max() >= vocab_size):
        raise ValueError(f"{name} must hold token ids in [0, {vocab_size - 1}], got [{data.min()}, {data.max()}]")
    return data


def _check_model(order, vocab_size, bos):
    order = check_int("order", order, 1, 4)
    vocab_size = check_int("vocab_size", vocab_size, 2, 2**15)  # base**order must fit in int64
    return order, vocab_size, check_int("bos", bos, 0, vocab_size - 1)


def ngram_keys(data, order: int, vocab_size: int, bos: int) -> np.ndarray:
    """The key of the n-gram ending at every token of ``data`` (rows padded with ``order - 1`` ``bos`` on the
    left): ``sum_j token_j * vocab_size ** (order - 1 - j)``, flattened row by row."""
    order, vocab_size, bos = _check_model(order, vocab_size, bos)
    data = _check_text("data", data, vocab_size).astype(np.int64)
    padded = np.concatenate([np.full((data.shape[0], order - 1), bos, np.int64), data], axis=1)
    keys = np.zeros(data.shape, np.int64)
    for j in range(order):  # one vectorised pass per position of the n-gram
        keys = keys * vocab_size + padded[:, j:j + data.shape[1]]
    return keys.ravel()


def fit(data, order: int = 2, *, vocab_size: int, bos: int) -> NGram:
    """Count the n-grams of ``data`` (token ids, shape ``(rows, length)``)."""
    keys, counts = np.unique(ngram_keys(data, order, vocab_size, bos), return_counts=True)
    return NGram(order, vocab_size, bos, keys, counts.astype(np.int64))


def merge(a: NGram | None, b: NGram) -> NGram:
    """The counts of the text behind ``a`` and ``b`` together (``a`` may be None)."""
    if a is None:
        return b
    if (a.order, a.vocab_size, a.bos) != (b.order, b.vocab_size, b.bos):
        raise ValueError("merge needs two models of the same order, vocab_size and bos")
    keys, inverse = np.unique(np.concatenate([a.keys, b.keys]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([a.counts, b.counts]), minlength=len(keys))
    return NGram(a.order, a.vocab_size, a.bos, keys, counts.astype(np.int64))


def table(model: NGram, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys and counts of the m-grams (``m <= order``) ending at the counted tokens: the last ``m`` tokens
    of every n-gram, summed over the older ones."""
    m = check_int("m", m, 1, model.order)
    if m == model.order:
        return model.keys, model.counts
    keys, inverse = np.unique(model.keys % model.vocab_size**m, return_inverse=True)
    return keys, np.bincount(inverse, weights=model.counts, minlength=len(keys)).astype(np.int64)


def type_counts(model: NGram) -> np.ndarray:
    """How often each token id occurs in the model's training text (length ``vocab_size``)."""
    keys, counts = table(model, 1)
    return np.bincount(keys, weights=counts, minlength=model.vocab_size).astype(np.int64)


# ---- scoring: interpolated Kneser-Ney or add-k ----------------------------------------------------------------

def _continuation(model: NGram, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Kneser-Ney's lower-order counts: for each m-gram, the number of distinct tokens seen before it."""
    longer = np.unique(model.keys % model.vocab_size ** (m + 1))
    return np.unique(longer % model.vocab_size**m, return_counts=True)


def _lookup(sorted_keys, values, queries):
    """``values`` at ``queries`` in ``sorted_keys``, 0 where a query is absent."""
    if len(sorted_keys) == 0:
        return np.zeros(len(queries), values.dtype)
    at = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    return np.where(sorted_keys[at] == queries, values[at], 0)


def _context_totals(keys, counts, base):
    """For every context (key // base): its total count and number of distinct next tokens."""
    contexts, inverse = np.unique(keys // base, return_inverse=True)
    return contexts, np.bincount(inverse, weights=counts), np.bincount(inverse).astype(float)


def _kneser_ney(model: NGram, queries, discount):
    """P(w | h) of the n-grams ``queries`` (keys), interpolating orders 1..n down to the uniform law."""
    v = model.vocab_size
    p = np.full(len(queries), 1.0 / v)
    for m in range(1, model.order + 1):
        keys, counts = table(model, m) if m == model.order else _continuation(model, m)
        contexts, totals, followers = _context_totals(keys, counts, v)
        x = queries % v**m
        c_hw = _lookup(keys, counts.astype(float), x)
        c_h = _lookup(contexts, totals, x // v)
        t_h = _lookup(contexts, followers, x // v)
        seen = c_h > 0
        safe = np.where(seen, c_h, 1.0)
        p = np.where(seen, (np.maximum(c_hw - discount, 0.0) + discount * t_h * p) / safe, p)
    return p


def _add_k(model: NGram, queries, k):
    v = model.vocab_size
    contexts, totals, _ = _context_totals(model.keys, model.counts, v)
    c_hw = _lookup(model.keys, model.counts.astype(float), queries)
    return (c_hw + k) / (_lookup(contexts, totals, queries // v) + k * v)


def log_probs(model: NGram, data, *, smoothing: str = "kneser-ney", discount: float = 0.75,
              k: float = 1.0) -> np.ndarray:
    """Natural-log probability of every token of ``data`` (shape ``(rows, length)``) given its context.

    ``"kneser-ney"``: interpolated Kneser-Ney with absolute ``discount`` in (0, 1], raw counts at the top
    order, continuation counts below, down to the uniform law over ``vocab_size`` (so that every token has a
    positive probability). ``"add-k"``: ``(c(h, w) + k) / (c(h) + k V)`` at the top order.
    """
    smoothing = check_choice("smoothing", smoothing, SMOOTHINGS)
    queries = ngram_keys(data, model.order, model.vocab_size, model.bos)
    if smoothing == "kneser-ney":
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {discount!r}")
        p = _kneser_ney(model, queries, discount)
    else:
        if not k > 0.0:
            raise ValueError(f"k must be > 0, got {k!r}")
        p = _add_k(model, queries, k)
    return np.log(p).reshape(np.shape(data))


def perplexity(model: NGram, data, **smoothing) -> float:
    """``exp`` of the mean negative log probability per token of ``data`` (see :func:`log_probs`)."""
    return float(np.exp(-log_probs(model, data, **smoothing).mean()))


def next_token_probabilities(model: NGram, context, **smoothing) -> np.ndarray:
    """The smoothed law of the next token after ``context`` (its last ``order - 1`` tokens), length V."""
    context = list(np.ravel(context))[-(model.order - 1):] if model.order > 1 else []
    context = [model.bos] * (model.order - 1 - len(context)) + context
    rows = np.array([context + [w] for w in range(model.vocab_size)])
    return np.exp(log_probs(model, rows, **smoothing)[:, -1])  # padding is never scored past the context


# ---- sampling: the MLE with temperature, top-k and top-p -----------------------------------------------------

@dataclass(frozen=True)
class _Sampler:
    """Next-token laws of one order: sorted context keys; per context a run of tokens by decreasing probability,
    and their cumulative probabilities shifted by the context's row number (one searchsorted draws them all)."""

    contexts: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    tokens: np.ndarray
    shifted_cdf: np.ndarray
    probs: np.ndarray


def _check_filters(temperature, top_k, top_p):
    check_range("temperature (0: greedy)", temperature, 0, np.inf)
    if top_k is not None:
        check_int("top_k", top_k, 1)
    top_p = check_fraction("top_p", top_p)
    if top_p == 0.0:
        raise ValueError("top_p must be a number in (0, 1], got 0")
    return float(temperature), top_k, top_p


def filtered_laws(keys, counts, vocab_size, temperature=1.0, top_k=None, top_p=1.0) -> _Sampler:
    """The MLE next-token law of every context of the n-grams ``keys``/``counts``, then temperature (``p **
    (1 / T)`` renormalised; ``T = 0``: the most likely token, ties to the smallest id), top-k (the ``k`` most
    likely) and top-p (the most likely tokens until their probability reaches ``p``; the first always
    kept), in that order (as transformers applies them), renormalised."""
    temperature, top_k, top_p = _check_filters(temperature, top_k, top_p)
    context, token = keys // vocab_size, keys % vocab_size
    contexts, row = np.unique(context, return_inverse=True)
    logp = np.log(counts / np.bincount(row, weights=counts)[row])
    if temperature == 0.0:
        top_k = 1  # greedy: the most likely token of every context
    else:
        logp = logp / temperature
    order = np.lexsort((token, -logp, row))  # per row: decreasing probability, then increasing id
    row, token, logp = row[order], token[order], logp[order]
    starts = np.searchsorted(row, np.arange(len(contexts)))
    p = np.exp(logp - np.maximum.reduceat(logp, starts)[row])  # normalised by the top-k step
    row, token, p = _keep(row, token, p, np.arange(len(row)) - starts[row] < (top_k or len(row)))
    starts = np.searchsorted(row, np.arange(len(contexts)))
    before = np.cumsum(p) - p  # per row: the probability of the more likely tokens (after top-k)
    row, token, p = _keep(row, token, p, before - before[starts][row] < top_p)
    starts = np.searchsorted(row, np.arange(len(contexts)))
    stops = np.append(starts[1:], len(row))
    cdf = np.cumsum(p)
    cdf = cdf - np.append(0.0, cdf[stops[:-1] - 1])[row]
    cdf[stops - 1] = 1.0
    return _Sampler(contexts, starts, stops, token, row + cdf, p)


def _keep(row, token, p, keep):
    """The kept entries, their probabilities renormalised within each row."""
    row, token, p = row[keep], token[keep], p[keep]
    return row, token, p / np.bincount(row, weights=p)[row]


def sampler(model: NGram, temperature=1.0, top_k=None, top_p=1.0) -> list[_Sampler]:
    """The filtered laws of every order ``1 .. order`` of ``model`` (the lower ones for back-off)."""
    return [filtered_laws(*table(model, m), model.vocab_size, temperature, top_k, top_p)
            for m in range(1, model.order + 1)]


def _draw(laws: list[_Sampler], history, vocab_size, rng):
    """One next token per row of ``history`` (the last ``order - 1`` tokens), backing off where needed."""
    n = len(history)
    rows, found = np.zeros(n, np.int64), np.zeros(n, bool)
    which = np.zeros(n, np.int64)  # index into laws
    for m in range(len(laws), 0, -1):
        law = laws[m - 1]
        context = np.zeros(n, np.int64)
        for j in range(history.shape[1] - (m - 1), history.shape[1]):
            context = context * vocab_size + history[:, j]
        at = np.minimum(np.searchsorted(law.contexts, context), len(law.contexts) - 1)
        hit = ~found & (law.contexts[at] == context)
        rows[hit], which[hit] = at[hit], m - 1
        found |= hit
        if found.all():
            break
    tokens = np.empty(n, np.int64)
    u = rng.random(n)
    for m in np.unique(which):
        law, sel = laws[m], which == m
        pos = np.searchsorted(law.shifted_cdf, rows[sel] + u[sel], side="right")
        tokens[sel] = law.tokens[np.minimum(pos, law.stops[rows[sel]] - 1)]
    return tokens


def sample(model: NGram, n_rows: int, length: int, rng: np.random.Generator, *, temperature: float = 1.0,
           top_k: int | None = None, top_p: float = 1.0) -> np.ndarray:
    """``n_rows`` rows of ``length`` tokens, each started from the padding context and drawn token by token
    from the filtered MLE (see :func:`filtered_laws`); all rows advance together (one vectorised draw per
    position). Returns int32 ``(n_rows, length)``."""
    n_rows, length = check_int("n_rows", n_rows, 1), check_int("length", length, 1)
    laws = sampler(model, temperature, top_k, top_p)
    history = np.full((n_rows, model.order - 1), model.bos, np.int64)
    out = np.empty((n_rows, length), np.int32)
    for t in range(length):
        out[:, t] = _draw(laws, history, model.vocab_size, rng)
        history = np.concatenate([history, out[:, t:t + 1]], axis=1)[:, 1:]
    return out


# ---- the loop's family and the chapter's metrics ---------------------------------------------------------------

def family(order: int, vocab_size: int, bos: int, length: int, *, temperature: float = 1.0,
           top_k: int | None = None, top_p: float = 1.0) -> Family:
    """An n-gram model family for :func:`collapsebook.loop.run` on text of shape ``(rows, length)``
    (``sample_axis=0``): fit counts, sample rows with the given filters. Accumulating merges counts."""
    order, vocab_size, bos = _check_model(order, vocab_size, bos)
    length = check_int("length", length, 1)
    _check_filters(temperature, top_k, top_p)
    filters = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    key_type = np.int32 if vocab_size**order < 2**31 else np.int64  # checkpoints: half the bytes when it fits
    return Family(
        fit=lambda data, rng: fit(data, order, vocab_size=vocab_size, bos=bos),
        sample=lambda model, n, rng: sample(model, n, length, rng, **filters).astype(np.int16),  # ids < 2**15
        to_arrays=lambda model: {"keys": model.keys.astype(key_type), "counts": model.counts.astype(np.int32)},
        from_arrays=lambda arrays: NGram(order, vocab_size, bos, np.asarray(arrays["keys"], np.int64),
                                         np.asarray(arrays["counts"], np.int64)),
        update=lambda state, block: merge(state, fit(block, order, vocab_size=vocab_size, bos=bos)),
        fit_state=lambda state, rng: state,
    )


def entropy(counts) -> float:
    """Entropy in nats of the law proportional to ``counts``."""
    p = np.asarray(counts, float)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


def conditional_entropy(model: NGram) -> float:
    """Entropy in nats of the next token given its context, under the MLE, averaged over the training text."""
    _, totals, _ = _context_totals(model.keys, model.counts, model.vocab_size)
    return entropy(model.counts) - entropy(totals)


def measure(test, **smoothing):
    """``measure(model, train, g)`` for :func:`collapsebook.loop.run`: held-out perplexity on the real rows
    ``test``, the count of every type, vocabulary size, n-gram types and the entropies of the training text."""
    def record(model: NGram, train, g) -> dict:
        counts = type_counts(model)
        return {"perplexity": perplexity(model, test, **smoothing), "type_counts": counts,
                "vocabulary": int((counts > 0).sum()), "ngram_types": len(model.keys),
                "unigram_entropy": entropy(counts), "conditional_entropy": conditional_entropy(model)}
    return record


def kept_share(type_counts_by_generation, original_counts, low: int, high: int) -> np.ndarray:
    """Per generation, the share of the types seen ``low .. high`` times in the original text that are still
    present (count > 0)."""
    band = (original_counts >= low) & (original_counts <= high)
    if not band.any():
        raise ValueError(f"no type is seen between {low} and {high} times")
    return (np.asarray(type_counts_by_generation)[:, band] > 0).mean(axis=1)


def rank_frequency(counts) -> np.ndarray:
    """The counts of the present types from the most to the least frequent (Zipf's rank-frequency curve)."""
    counts = np.asarray(counts)
    return np.sort(counts[counts > 0])[::-1]
