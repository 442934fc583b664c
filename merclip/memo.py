"""A bounded, thread-safe least-recently-used memo: the model's label/query embeddings, shared by every user.

The app serves many users from one model, each with their own custom label sets, so the memo is read and written
from several threads at once and must neither grow without bound nor ever fail a lookup that raced an eviction.
One lock guards the dict; the value is computed outside it (a text-tower pass must not serialise every request), and
the caller always gets the value it computed or found, never a second read that an eviction could have emptied.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LockedLRU(Generic[V]):
    """At most `maxsize` entries; the least recently used one is evicted first. None is not a storable value: it
    means a miss."""

    def __init__(self, maxsize: int = 256):
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value for `key` (now the most recently used), or None on a miss."""
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Hashable, value: V) -> None:
        """Store `value` as the most recently used entry, evicting the least recently used beyond `maxsize`."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The memoised value for `key`, computing (outside the lock) and storing it on a miss."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def snapshot(self) -> dict[Hashable, V]:
        """A copy of the entries, least recently used first (for inspection; does not touch the order)."""
        with self._lock:
            return dict(self._data)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    # A memo is not state: copies and pickles of its owner (copy.deepcopy(model), DDP, torch.save) start empty,
    # which also keeps the lock out of them.
    def __deepcopy__(self, memo: dict) -> "LockedLRU[V]":
        return LockedLRU(self.maxsize)

    def __getstate__(self) -> dict:
        return {"maxsize": self.maxsize}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["maxsize"])
