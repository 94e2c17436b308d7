"""tconv._algorithms.workspace: scratch memory and the layout copies a backward call shares."""

from __future__ import annotations

import contextvars
import queue
import threading

import numpy as np
import pytest

from tconv._algorithms import workspace
from tconv._algorithms.problem import channels_last


def _cf(seed: int = 0, shape: tuple[int, ...] = (2, 24, 9, 11)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _expected(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1).reshape(x.shape[0], -1, x.shape[1])


@pytest.mark.parametrize("shape", [(2, 24, 9, 11), (2, 24, 30, 30)], ids=["numpy-copy", "compiled-copy"])
def test_a_copy_is_shared_within_a_block_in_the_same_slot(shape):
    x = _cf(0, shape)
    with workspace.sharing(x):
        first = channels_last(x, "channels_first", "channels_last")
        again = channels_last(x, "channels_first", "channels_last")
        assert again is first  # the slot's copy, handed out again: no second copy
        part = channels_last(x[1:], "channels_first", "channels_last")  # another part: copied anew
        assert np.array_equal(part, _expected(x[1:]))
        third = channels_last(x, "channels_first", "channels_last")  # the slot held the part meanwhile
        assert np.array_equal(third, _expected(x))


def test_a_copy_is_not_shared_once_its_slot_was_handed_out():
    x = _cf()
    with workspace.sharing(x):
        channels_last(x, "channels_first", "channels_last")
        junk = workspace.scratch("channels_last", (7,), np.float64)
        junk[...] = np.nan  # the same memory, now someone else's
        got = channels_last(x, "channels_first", "channels_last")
        assert np.array_equal(got, _expected(x))


def test_only_the_blocks_arrays_and_their_views_are_shared():
    x, other = _cf(0), _cf(1)
    with workspace.sharing(x):
        assert workspace.copy_key(x[:, :, 1:]) is not None  # a view of x
        assert workspace.copy_key(other) is None
        assert workspace.copy_key(x.copy()) is None  # a copy: its memory may be rewritten or reused
    assert workspace.copy_key(x) is None  # outside a block
    with workspace.sharing(x):
        key = workspace.copy_key(x)
    assert key is not None and key[0].roots == ()  # a record kept anywhere past the block holds no array


def test_a_later_block_never_reuses_an_earlier_blocks_copy():
    """The values of the block's arrays may change between blocks (the same memory, shape and strides):
    a record of an earlier block must not match, on this thread or on one that never cleared its own."""
    x = _cf()
    with workspace.sharing(x):
        channels_last(x, "channels_first", "channels_last")
    x *= -1  # in place: the same memory
    with workspace.sharing(x):
        assert np.array_equal(channels_last(x, "channels_first", "channels_last"), _expected(x))

    # a pool thread's records: it copies inside the caller's block (in a copy of the caller's context,
    # as tconv's pool threads run), and the caller's block, ending, clears only the caller's own
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def pool_thread() -> None:
        while (task := tasks.get()) is not None:
            context, function = task
            results.put(context.run(function))

    def copy() -> np.ndarray:
        return channels_last(x, "channels_first", "channels_last").copy()

    thread = threading.Thread(target=pool_thread)
    thread.start()
    try:
        for _ in range(2):
            with workspace.sharing(x):
                tasks.put((contextvars.copy_context(), copy))
                assert np.array_equal(results.get(), _expected(x))
            x += 1  # in place, between the blocks
    finally:
        tasks.put(None)
        thread.join()


def test_a_copy_too_large_for_its_slot_is_not_kept(monkeypatch):
    """A copy in fresh memory (larger than a slot keeps) is not held for reuse: holding it past its use
    would add its size to what the memory budget counted."""
    monkeypatch.setattr(workspace, "SLOT_BYTES", 1024)
    x = _cf()
    with workspace.sharing(x):
        first = channels_last(x, "channels_first", "channels_last")
        again = channels_last(x, "channels_first", "channels_last")
        assert again is not first and np.array_equal(again, first)


def test_a_backward_call_keeps_none_of_its_arrays():
    """After a backward call that shared its copies (two threads, a depthwise layer whose gradients both
    copy dy channels-last), nothing of tconv's holds the caller's arrays."""
    import gc
    import weakref

    import tconv

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 32, 20, 20)).astype(np.float32)
    w = rng.standard_normal((32, 1, 4, 4)).astype(np.float32)
    dy = rng.standard_normal((2, 32, 40, 40)).astype(np.float32)
    refs = [weakref.ref(a) for a in (x, w, dy)]
    with tconv.options(threads=2):
        grads = tconv.conv_transpose_backward(dy, x, w, stride=2, padding=1, groups=32)
    assert grads.input.shape == x.shape and grads.weight.shape == w.shape
    del x, w, dy
    gc.collect()
    assert all(ref() is None for ref in refs)
