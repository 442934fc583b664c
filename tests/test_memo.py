"""Issue 13 item 2: the label/query embedding memo is a bounded, locked LRU shared safely by many threads."""
from __future__ import annotations

import copy
import threading

import pytest
import torch

from merclip.memo import LockedLRU


def test_lru_evicts_the_least_recently_used():
    memo = LockedLRU(2)
    assert memo.get_or_compute("a", lambda: 1) == 1
    memo.get_or_compute("b", lambda: 2)
    assert memo.get_or_compute("a", lambda: pytest.fail("a is memoised")) == 1  # a is now the most recent
    memo.get_or_compute("c", lambda: 3)
    assert "a" in memo and "c" in memo and "b" not in memo and len(memo) == 2
    assert len(copy.deepcopy(memo)) == 0  # a copy of the owner starts with an empty memo (and its own lock)


def test_lru_under_many_threads_with_more_keys_than_the_bound():
    memo, errors = LockedLRU(8), []

    def worker(seed: int) -> None:
        try:
            for i in range(400):
                key = (seed * 7 + i) % 50
                assert memo.get_or_compute(key, lambda: key * 10) == key * 10
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(memo) <= 8


def test_model_memo_with_many_threads_and_more_custom_label_sets_than_the_bound(own_tiny_model):
    """The old memo was a plain dict cleared past 256 entries: a clear() between one thread's insert and read was a
    KeyError. Here 8 threads ask for 3x more distinct label sets than the bound, and every answer is right."""
    model = own_tiny_model
    model.text_memo = LockedLRU(16)
    label_sets = [(f"calm {i}", f"tense {i}") for i in range(48)]
    with torch.inference_mode():
        expected = {s: model.label_encoder.labels(list(s)) for s in label_sets}
    errors = []

    def worker(offset: int) -> None:
        try:
            with torch.inference_mode():
                for j in range(len(label_sets)):
                    s = label_sets[(offset * 5 + j) % len(label_sets)]
                    assert torch.allclose(model.label_embeddings(s), expected[s], atol=1e-6)
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(model.text_memo) <= 16
    model.train()
    assert len(model.text_memo) == 0  # switching mode empties it: never stale embeddings
