"""tconv.options (tconv/_options.py): validation, and restoring the previous options."""

from __future__ import annotations

import pytest

import tconv


def test_options_validation_and_restore():
    before = tconv.get_options()
    with pytest.raises(ValueError, match="memory_budget must be a positive int, got 0"):
        tconv.set_options(memory_budget=0)
    with pytest.raises(ValueError, match="threads must be a positive int, got -1"):
        with tconv.options(threads=-1):
            pass
    with pytest.raises(ValueError, match="threads must be at most 1024 .each is an OS thread., got 1000000000000"):
        tconv.set_options(threads=10**12)  # refused, not a pool of 10**12 threads
    for value in (True, 2.0, "2"):  # the wrong type: TypeError, as everywhere in the library
        with pytest.raises(TypeError, match="threads must be a positive int, got .* of type"):
            tconv.set_options(threads=value)
        with pytest.raises(TypeError, match="memory_budget must be a positive int"):
            tconv.set_options(memory_budget=value)
    with pytest.raises(TypeError, match="unknown option 'budget', valid options are"):
        tconv.set_options(budget=1)
    with pytest.raises(TypeError, match="compiled must be a bool, got 1"):
        tconv.set_options(compiled=1)
    with pytest.raises(TypeError, match="winograd must be a bool, got 'no'"):
        tconv.set_options(winograd="no")
    with pytest.raises(TypeError, match="keep_awake must be a real number, got True of type bool"):
        tconv.set_options(keep_awake=True)
    with pytest.raises(TypeError, match="keep_awake must be a real number, got '1ms' of type str"):
        tconv.set_options(keep_awake="1ms")
    with pytest.raises(ValueError, match="keep_awake must be at least 0, got -0.001"):
        tconv.set_options(keep_awake=-0.001)
    with pytest.raises(ValueError, match="keep_awake must be at most 1.0 seconds, got 60"):
        tconv.set_options(keep_awake=60)  # the threads would spin a minute after every call
    with pytest.raises(ValueError, match="keep_awake must be finite, got nan"):
        tconv.set_options(keep_awake=float("nan"))
    with tconv.options(keep_awake=0):
        assert tconv.get_options().keep_awake == 0.0
    with pytest.raises(ValueError, match=r"blas must be one of \('auto', 'numpy', 'mkl'\), got 'openblas'"):
        tconv.set_options(blas="openblas")
    with pytest.raises(TypeError, match="blas must be a str, one of .*, got True of type bool"):
        tconv.set_options(blas=True)
    with tconv.options(blas="numpy"):
        assert tconv.get_options().blas == "numpy"
    assert tconv.get_options() == before


# ---------------------------------------------------------------------------------------------- threads
# The four cases of issue 11 ("Options and threads").


def _in_threads(target, count):
    import threading

    errors = []

    def run(*args):
        try:
            target(*args)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_small_calls_from_threads_leave_the_options_alone():
    """Small calls run on one thread internally; no thread ever sees threads == 1 for that."""
    import numpy as np

    before = tconv.get_options()
    seen = []
    x, w = np.ones((1, 2, 3, 3)), np.ones((2, 2, 3, 3))

    def call(_):
        for _ in range(20):
            tconv.conv_transpose(x, w, stride=2, algorithm="gemm")
            seen.append(tconv.get_options().threads)

    _in_threads(call, 4)
    assert tconv.get_options() == before
    assert set(seen) == {before.threads}


def test_overlapping_option_blocks_in_two_threads():
    """Each thread's ``with options(...)`` is its own: overlapping blocks neither see nor restore
    each other's values, and the process-wide options are untouched afterwards."""
    import threading

    before = tconv.get_options()
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread(i):
        if i == 0:
            with tconv.options(memory_budget=111):
                a_inside.set()
                b_inside.wait(5)
                seen["a"] = tconv.get_options().memory_budget
            a_left.set()
            seen["a after"] = tconv.get_options().memory_budget
        else:
            a_inside.wait(5)
            with tconv.options(memory_budget=222):
                b_inside.set()
                a_left.wait(5)
                seen["b"] = tconv.get_options().memory_budget
            seen["b after"] = tconv.get_options().memory_budget

    _in_threads(thread, 2)
    assert seen == {"a": 111, "b": 222, "a after": before.memory_budget, "b after": before.memory_budget}
    assert tconv.get_options() == before


def test_options_of_a_block_reach_the_pool_threads():
    """The compiled passes run in pool threads with the caller's options (a copy of its context)."""
    from tconv._algorithms import compiled

    seen = []
    with tconv.options(memory_budget=12345, threads=2):
        compiled.parallel_for(lambda: seen.append(tconv.get_options().memory_budget), [()] * 8)
    assert seen == [12345] * 8


def test_resizing_the_pool_while_other_threads_compute():
    """set_options(threads=k) while calls run in other threads: no 'cannot schedule new futures'
    (a pool that must grow is replaced, never shut down under a running call), and results hold."""
    import threading
    import time

    import numpy as np

    from tconv._algorithms import compiled

    before = tconv.get_options()
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 8, 12, 12)), rng.standard_normal((8, 4, 4, 4))
    expected = tconv.conv_transpose(x, w, stride=2, padding=1, algorithm="scatter")

    resized = threading.Event()

    def work(i):
        if i == 0:
            for k in range(2, 40):  # every growth replaces the pool
                tconv.set_options(threads=k)
                time.sleep(0.002)
            resized.set()
        else:
            while not resized.is_set():
                compiled.parallel_for(lambda: None, [()] * 64)
            y = tconv.conv_transpose(x, w, stride=2, padding=1, algorithm="gemm")
            assert np.allclose(y, expected)

    try:
        _in_threads(work, 3)
    finally:
        tconv.set_options(**before.__dict__)


def test_an_interrupted_parallel_call_leaves_no_pool_thread_running():
    """KeyboardInterrupt in the calling thread: the pool threads stop after their current piece,
    before the call returns, and the next call does not wait for them."""
    import threading
    import time

    from tconv._algorithms import compiled

    running, done = [0], []
    lock = threading.Lock()
    caller = threading.get_ident()

    def piece(i):
        if threading.get_ident() == caller and i > 0:
            raise KeyboardInterrupt
        with lock:
            running[0] += 1
        time.sleep(0.01)
        with lock:
            running[0] -= 1
            done.append(i)

    with tconv.options(threads=2):
        with pytest.raises(KeyboardInterrupt):
            compiled.parallel_for(piece, [(i,) for i in range(200)])
        assert running[0] == 0  # nothing still running once the interrupt reached the user
        finished = len(done)
        assert finished < 200
        time.sleep(0.05)
        assert len(done) == finished  # and nothing started afterwards
        calls = []
        compiled.parallel_for(lambda i: calls.append(i), [(i,) for i in range(4)])  # the pool is free again
        assert sorted(calls) == [0, 1, 2, 3]
