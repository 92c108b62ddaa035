"""Chapter 7: the n-gram model's vectorised counting (np.unique over integer keys) and sampling (one searchsorted
per position for all rows) against plain Python references measured here, in the same run, on the same real
text (pinned threads, medians of interleaved repeats: benchmarks/_harness.py)."""

import bisect
from collections import Counter, defaultdict

import numpy as np
from _harness import REPEATS, Record, compare, pin_threads, timed

from collapsebook import ngram
from collapsebook.experiments import tails

FIT_ROWS = 2000  # the counting reference runs on a slice of 128,000 tokens


def counter_fit(rows, bos):
    """The reference count: a Counter of (previous, next) pairs, row by row."""
    counts = Counter()
    for row in rows.tolist():
        counts.update(zip([bos] + row[:-1], row))
    return counts


def loop_sampler(counts):
    """The reference sampler's tables: per context, its tokens and cumulative counts; under ``None``, the
    unigram law, for a context never followed by a token (the back-off of ``ngram.sample``)."""
    table, unigram = defaultdict(lambda: ([], [])), Counter()
    for (previous, token), c in sorted(counts.items()):
        tokens, cumulative = table[previous]
        tokens.append(token)
        cumulative.append((cumulative[-1] if cumulative else 0) + c)
        unigram[token] += c
    for token, c in sorted(unigram.items()):
        tokens, cumulative = table[None]
        tokens.append(token)
        cumulative.append((cumulative[-1] if cumulative else 0) + c)
    return table


def loop_sample(table, n_rows, length, bos, rng):
    """One row at a time, one token at a time: a uniform draw located in the context's cumulative counts."""
    out = []
    for _ in range(n_rows):
        previous, row = bos, []
        for _ in range(length):
            tokens, cumulative = table[previous] if previous in table else table[None]
            previous = tokens[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]
            row.append(previous)
        out.append(row)
    return np.array(out)


def main():
    record = Record("bench_ngram", pin_threads())
    train, _, _ = tails.text()
    v, bos, length = tails.VOCAB_SIZE, tails.BOS, tails.ROW_LENGTH
    part = train[:FIT_ROWS]
    fit = lambda: ngram.fit(part, 2, vocab_size=v, bos=bos)  # noqa: E731
    ours, ref, ratio = compare(fit, lambda: counter_fit(part, bos))
    model, counts = fit(), counter_fit(part, bos)
    assert {(int(k // v), int(k % v)): int(c) for k, c in zip(model.keys, model.counts)} == counts
    print(f"bigram counts of {part.size:,} tokens (median [min-max] of {REPEATS})")
    print(f"  collections.Counter: {ref.format()} s   np.unique: {ours.format()} s")
    record.add("bigram fit: Counter / np.unique", ratio, "x")
    full, _ = timed(lambda: ngram.fit(train, 2, vocab_size=v, bos=bos))
    record.add(f"bigram fit of the whole corpus ({train.size:,} tokens)", full, "s")

    rows = len(train)  # a whole generation: as many rows as the training text, from the fitted counts
    whole_model, whole_counts = ngram.fit(train, 2, vocab_size=v, bos=bos), counter_fit(train, bos)
    ours, ref, ratio = compare(
        lambda: ngram.sample(whole_model, rows, length, np.random.default_rng(0)),
        lambda: loop_sample(loop_sampler(whole_counts), rows, length, bos, np.random.default_rng(0)))
    print(f"sampling a generation ({rows:,} rows of {length} tokens, the laws built from the counts included): "
          f"Python loop {ref.format()} s, vectorised {ours.format()} s")
    record.add("sampling a generation: Python loop / vectorised", ratio, "x")
    fit_and_sample, _ = timed(lambda: ngram.sample(ngram.fit(train, 2, vocab_size=v, bos=bos), rows, length,
                                                   np.random.default_rng(1)))
    record.add(f"fit and sample a generation ({train.size:,} tokens)", fit_and_sample, "s")
    record.save()


if __name__ == "__main__":
    main()
