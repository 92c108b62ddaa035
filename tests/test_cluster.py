"""``--ray``: an experiment's grid as Ray tasks on a local Ray instance, a worker killed midway, results gathered
bit for bit like a sequential run's (issue 17)."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import ray
from ray import cloudpickle  # Ray pickles with its own copy
from threadpoolctl import threadpool_limits

from collapsebook import cli, store

# Two experiments at ci scale, several cells each (gmm: three of its seven runs, to stay within seconds).
GRIDS = {"discrete": [], "gmm": ["--only", "part=two", "part=policies", "part=size_250"]}

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray's workers cannot import this test module


def kill_once_after_generation_1():
    """A Ray worker's setup hook: the first worker to save a generation 1 dies right after it (``os._exit``,
    as a preempted node would), once in the whole run; every save is logged as ``folder generation``."""
    from collapsebook import loop

    save = loop._save_generation

    def saving(folder, g, *args):
        save(folder, g, *args)
        with open(os.environ["COLLAPSEBOOK_TEST_SAVES"], "a") as log:
            log.write(f"{folder} {g}\n")
        if g == 1:
            try:
                os.close(os.open(os.environ["COLLAPSEBOOK_TEST_KILLED"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os._exit(1)

    loop._save_generation = saving


def results(folder: Path) -> dict:
    """Every file under ``folder``: the arrays of an ``.npz`` (its zip stamps the time), else the bytes."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        found[name] = store.load_npz(path) if path.suffix == ".npz" else path.read_bytes()
    return found


def assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for name, value in a.items():
        if isinstance(value, dict):
            assert sorted(value) == sorted(b[name]), name
            for key in value:
                assert value[key].dtype == b[name][key].dtype, (name, key)
                np.testing.assert_array_equal(value[key], b[name][key], err_msg=f"{name}: {key}")
        else:
            assert value == b[name], name


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    marks = tmp_path_factory.mktemp("marks")
    env = {"COLLAPSEBOOK_TEST_KILLED": str(marks / "killed"), "COLLAPSEBOOK_TEST_SAVES": str(marks / "saves.log"),
           "OMP_NUM_THREADS": "1"}
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline and hermetic: no usage report
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"worker_process_setup_hook": kill_once_after_generation_1, "env_vars": env})
    yield marks
    ray.shutdown()


def test_a_grid_on_ray_with_a_worker_killed_midway_equals_a_sequential_run(local_ray, tmp_path, capsys):
    marks = local_ray
    for name, options in GRIDS.items():
        command = ["run", name, "--scale", "ci", "--seed", "3", "--no-progress", *options]
        with threadpool_limits(1):  # the workers' one thread: the same sums in the same order
            assert cli.main([*command, "--out", str(tmp_path / "sequential" / name)]) == 0
        assert cli.main([*command, "--out", str(tmp_path / "ray" / name), "--ray"]) == 0
    printed = capsys.readouterr().out
    assert (marks / "killed").exists(), "no worker was killed: the test tested nothing"
    saves = (marks / "saves.log").read_text().splitlines()
    assert len(saves) == len(set(saves)), "a generation was computed twice: the retry did not resume"
    killed = next(line.rsplit(" ", 1)[0] for line in saves if line.endswith(" 1"))
    assert f"{killed} 2" in saves, "the killed cell was not finished by its retry"
    assert printed.count("finished ") == 2 * (2 + 3)  # one line per cell, in both runs
    for name in GRIDS:
        assert_same(results(tmp_path / "sequential" / name), results(tmp_path / "ray" / name))


def test_failed_cells_are_reported_in_one_line_after_the_others(local_ray, tmp_path, capsys):
    out = tmp_path / "out"
    command = ["run", "discrete", "--scale", "ci", "--no-progress", "--out", str(out), "--ray"]
    assert cli.main([*command, "--seed", "-1"]) == 1  # every cell fails: a seed must be >= 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 of 2 cells failed" in err and "part=absorption: ValueError" in err
