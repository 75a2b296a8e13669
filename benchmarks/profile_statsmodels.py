"""Profile the statsmodels engine on the tutorial with joblib workers (pyinstrument).

    python benchmarks/profile_statsmodels.py [--data-dir DIR] [--n-jobs 2] [--voxels N]
                                             [--html-dir DIR]

Two profiles of one ``FirstLevelModel(engine='statsmodels', n_jobs=2).fit`` of the
tutorial (the benchmark's parameters, the data located without the checksum pass):

- the parent process, wall-clock: loading, masking, the design, handing chunks to
  joblib and waiting for them, gathering the results, the AR estimate and the
  per-bin covariances;
- the workers: every chunk function (``fit._ols_chunk``, ``fit._ar1_chunk``) runs
  under its own pyinstrument profiler inside the worker, and the sessions are
  merged. This is where statsmodels' own fits are, and what the loop around them
  costs.

``--voxels N`` fits only the first N voxels of the EPI mask (quicker, same per-voxel
picture). The worker wrapper is defined in this script, so joblib (cloudpickle)
ships it to the workers by value; the engine's own code is not changed.
Printed: the two call trees (pyinstrument's console renderer, frames under 1% hidden)
and a summary line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

from run import data_dir_from


def profiled(func, folder: str):
    """``func`` run under a pyinstrument profiler whose session is saved in ``folder``."""

    def run(*args):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        try:
            return func(*args)
        finally:
            profiler.stop()
            name = f"{func.__name__}-{os.getpid()}-{uuid.uuid4().hex}.json"
            profiler.last_session.save(os.path.join(folder, name))

    run.__name__ = func.__name__
    return run


def merged_sessions(folder: Path):
    from pyinstrument.session import Session

    sessions = [Session.load(str(p)) for p in sorted(folder.glob("*.json"))]
    merged = sessions[0]
    for session in sessions[1:]:
        merged = Session.combine(merged, session)
    return merged, len(sessions)


def render(session) -> str:
    from pyinstrument.renderers import ConsoleRenderer

    renderer = ConsoleRenderer(
        unicode=False,
        color=False,
        short_mode=False,
        processor_options={"filter_threshold": 0.01},
    )
    return renderer.render(session)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--voxels", type=int, default=None, help="fit only this many voxels")
    parser.add_argument("--html-dir", default=None, help="also write both profiles as HTML here")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    from pyinstrument import Profiler

    import refglm.glm.engines.statsmodels
    from refglm import io
    from refglm.datasets import fetch_spm_auditory
    from refglm.first_level import FirstLevelModel
    from refglm.glm.masking import compute_epi_mask, mean_epi
    from refglm.io import run_dtype
    from refglm.workflows.tutorial import TUTORIAL_PARAMETERS

    data = fetch_spm_auditory(data_dir_from(args.data_dir), verify=False)
    model = FirstLevelModel(**TUTORIAL_PARAMETERS, engine="statsmodels", n_jobs=args.n_jobs)
    mask = None
    if args.voxels is not None:
        run, _ = io.load_run(data.func, dtype=run_dtype(data.func, "native"))
        full = compute_epi_mask(mean_epi(run))
        keep = full.ravel().nonzero()[0][: args.voxels]
        mask = full.copy().ravel()
        mask[:] = False
        mask[keep] = True
        mask = mask.reshape(full.shape)
        del run

    # start the workers (and their imports) outside the profile, as a warm run would
    model.fit(data.func, data.events) if mask is None else _fit_masked(model, data, mask, io)

    with tempfile.TemporaryDirectory() as folder:
        engine = refglm.glm.engines.statsmodels
        originals = {name: getattr(engine, name) for name in ("_ols_chunk", "_ar1_chunk")}
        for name, func in originals.items():
            setattr(refglm.glm.engines.statsmodels, name, profiled(func, folder))
        try:
            parent = Profiler(interval=0.001)
            t0 = time.perf_counter()
            parent.start()
            if mask is None:
                model.fit(data.func, data.events)
            else:
                _fit_masked(model, data, mask, io)
            parent.stop()
            wall = time.perf_counter() - t0
        finally:
            for name, func in originals.items():
                setattr(refglm.glm.engines.statsmodels, name, func)
        workers, n_chunks = merged_sessions(Path(folder))

    n_voxels = model.fit_.n_voxels
    print(f"== parent process (wall clock), {n_voxels} voxels, n_jobs={args.n_jobs} ==")
    print(render(parent.last_session))
    print(f"== workers: {n_chunks} chunk calls merged (CPU seconds summed over workers) ==")
    print(render(workers))
    print(
        f"fit: {wall:.2f} s wall; workers' chunk functions {workers.duration:.2f} s in total "
        f"({1e6 * workers.duration / (2 * n_voxels):.0f} us per voxel and pass); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if args.html_dir:
        from pyinstrument.renderers import HTMLRenderer

        out = Path(args.html_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "parent.html").write_text(HTMLRenderer().render(parent.last_session))
        (out / "workers.html").write_text(HTMLRenderer().render(workers))
    return 0


def _fit_masked(model, data, mask, io):
    from refglm.io import run_dtype

    run, affine = io.load_run(data.func, dtype=run_dtype(data.func, "native"))
    return model.fit_array(run, affine, data.events, mask=mask)


if __name__ == "__main__":
    sys.exit(main())
