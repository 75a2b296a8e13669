"""Run nistats 0.0.1rc0's FirstLevelModel on one run; write every map as arrays.

Runs INSIDE the side environment built by ``build_env.sh`` (``make peers``: Python 3.11,
numpy 1.23.5, scipy 1.10.1, scikit-learn 1.2.2, nilearn 0.6.2, nistats 0.0.1rc0); the
peer tests (``tests/peers/test_nistats.py``, through ``peer.py``) start it as a
subprocess, once per setting::

    .venv-nistats/bin/python run_nistats.py spec.json   # or: ... run_nistats.py - < spec.json
    .venv-nistats/bin/python run_nistats.py --versions  # the import check of build_env.sh

numpy's AVX512_SKX loops are switched off (``NPY_DISABLE_CPU_FEATURES``) before numpy
is imported, unless the spec says ``"numpy_avx512": true``. On a CPU with AVX512
numpy 1.23 computes float64 ``np.cos`` with Intel's SVML, which differs from the C
library's cos (what numpy 2.x, hence refglm, uses) by one ulp on 822 of the 1248
values of the tutorial's cosine drifts; the ill-conditioned FIR design (condition
number 3.6e5) amplifies that to 4.4e-6 in z. With the SKX loops off, numpy 1.23 uses
the C library's cos, as it does on any CPU without AVX512, and nistats' design is
bitwise refglm's. ``checks.numpy_cos_is_libm`` records which cos ran.

Spec (JSON object)::

    {
      "func": ["/.../fM00223_004.img", ...],   # 3-D volumes of ONE run, in order; stacked
                                                # with nilearn.image.concat_imgs (float32),
                                                # as the tutorial did
      "events": "/.../fM00223_events.tsv",     # or a list of {onset, duration, trial_type}
      "t_r": 7,
      "model": {"hrf_model": "spm", "drift_model": "cosine", "high_pass": 0.01,
                "drift_order": 1, "fir_delays": [0], "noise_model": "ar1",
                "slice_time_ref": 0.0, "min_onset": -24},
      "design_only": false,                     # true: build nistats' design, fit nothing
      "numpy_avx512": false,                    # true: leave numpy's AVX512_SKX loops on
      "mask": null,                            # path to a NIfTI mask, or null (nistats'
                                                # own NiftiMasker(mask_strategy='epi'))
      "contrasts": [                            # weights by design column name (a FIR
        {"name": "activeMinusRest",             # condition: all its delays); one row ->
         "rows": [{"active": 1, "rest": -1}]},  # t, several rows -> F (or "stat_type")
        {"name": "effectsOfInterest", "rows": [{"active": 1}, {"rest": 1}]}
      ],
      "thresholds": [                           # optional: nistats.thresholding.map_threshold
        {"contrast": "activeMinusRest", "height_control": "fdr", "alpha": 0.05,
         "two_sided": false, "cluster_threshold": 0}
      ],
      "nifti_dir": null,                        # optional: write each contrast's maps here
                                                # (BIDS-derivative names) and mask.nii.gz
      "out": "/.../result.npz"
    }

Output ``out`` (.npz, uncompressed), every per-voxel array in the order of ``mask`` (C
order of its True voxels, i.e. ``volume[mask]``)::

    mask (3-D bool), affine, design, design_columns, labels (nistats' binned rho per
    voxel: the keys of results_), rho_raw (the unbinned AR(1) estimate, recomputed with
    run_glm's own expression on nistats' own OLS fit and checked to bin to labels),
    <name>__z, <name>__stat, <name>__p, <name>__effect, <name>__variance
    (for an F contrast nistats' effect is row 0 of sqrtm(inv(C V C')) C beta and its
    variance the residual variance: not comparable to a t contrast's)

and ``out`` with .json: versions, spec, timings, thresholds, checks. This file is
linted with the repository but never imported by refglm or its tests.
"""

from __future__ import annotations

import collections
import collections.abc
import json
import os
import sys
import time
import types
import warnings


def _stub_nilearn_plotting():
    """Replace nilearn.plotting (0.6.2 fails on matplotlib 3.7: ``cm.LUTSIZE``).

    Any attribute is a function that raises when called; the submodules that
    nistats.reporting imports from exist. Nothing of nistats' numerics uses it.
    """

    class _Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)

            def _unavailable(*args, **kwargs):
                raise RuntimeError(f"nilearn.plotting.{name} is stubbed in this environment")

            return _unavailable

    pkg = _Stub("nilearn.plotting")
    pkg.__path__ = []  # a package, so that submodule imports resolve to sys.modules
    sys.modules["nilearn.plotting"] = pkg
    for sub in ("img_plotting", "js_plotting_utils", "displays"):
        mod = _Stub(f"nilearn.plotting.{sub}")
        sys.modules[mod.__name__] = mod
        setattr(pkg, sub, mod)


def import_nistats() -> dict:
    """Make nistats 0.0.1rc0 importable on Python 3.11; return the versions.

    * collections.Iterable & co (removed in Python 3.10) are used at run time by
      nilearn 0.6.2 (_utils/niimg.py, image/image.py: concat_imgs of a list).
    * nilearn.plotting is stubbed (see :func:`_stub_nilearn_plotting`).
    * sklearn.externals.joblib is a file written by build_env.sh.
    """
    for name in ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable", "Container"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    if "nilearn.plotting" not in sys.modules:
        _stub_nilearn_plotting()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import joblib
    import nibabel
    import nilearn
    import numpy
    import pandas
    import scipy
    import sklearn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nistats
        import nistats.first_level_model  # noqa: F401
        import nistats.reporting  # noqa: F401  (get_clusters_table)
        import nistats.thresholding  # noqa: F401

    mods = (numpy, scipy, sklearn, pandas, nibabel, joblib, nilearn, nistats)
    out = {m.__name__: m.__version__ for m in mods}
    out["python"] = sys.version.split()[0]
    return out


def _events(spec_events):
    import pandas as pd

    if isinstance(spec_events, str):
        return pd.read_csv(spec_events, sep="\t")
    return pd.DataFrame(spec_events)


def _contrast_matrix(rows, columns):
    """Rows of weights by column name; a condition of a FIR design weighs all its delays."""
    import numpy as np

    C = np.zeros((len(rows), len(columns)))
    for i, row in enumerate(rows):
        for name, w in row.items():
            cols = (
                [name]
                if name in columns
                else [c for c in columns if c.startswith(f"{name}_delay_")]
            )
            if not cols:
                raise SystemExit(f"contrast column {name!r} not in nistats' design {columns}")
            for col in cols:
                C[i, columns.index(col)] = w
    return C


def _bids_name(name, stat):
    return f"contrast-{name}_stat-{stat}_statmap.nii.gz"


def _disable_avx512_loops(spec: dict) -> None:
    """Switch numpy's AVX512_SKX loops off before numpy is imported (module docstring).

    numpy 1.23 warns (RuntimeWarning, not an error) when the CPU lacks a feature named.
    """
    if "numpy" in sys.modules:
        raise RuntimeError("run_nistats: numpy was imported before its CPU features were set")
    if not spec.get("numpy_avx512", False):
        os.environ["NPY_DISABLE_CPU_FEATURES"] = AVX512_SKX_FEATURES


#: The numpy 1.23 dispatch targets with SVML float64 cos (AVX512_SKX) and those above it.
AVX512_SKX_FEATURES = "AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"


def _numpy_checks() -> dict:
    """Which cos numpy runs, on the arguments of the tutorial's cosine drifts."""
    import math

    import numpy as np
    from numpy.core._multiarray_umath import __cpu_features__

    n = 96
    args = np.concatenate([(np.pi / n) * (np.arange(n) + 0.5) * k for k in range(1, 14)])
    libm = np.array([math.cos(a) for a in args])
    return {
        "numpy_cos_is_libm": bool(np.array_equal(np.cos(args), libm)),
        "numpy_avx512_skx": bool(__cpu_features__.get("AVX512_SKX", False)),
        "npy_disable_cpu_features": os.environ.get("NPY_DISABLE_CPU_FEATURES", ""),
    }


def _frame_times(t_r, slice_time_ref, n_scans):
    """nistats first_level_model.py FirstLevelModel.fit's frame times."""
    import numpy as np

    start_time = slice_time_ref * t_r
    end_time = (n_scans - 1 + slice_time_ref) * t_r
    return np.linspace(start_time, end_time, n_scans)


def _model_kwargs(spec: dict) -> dict:
    m = dict(spec.get("model", {}))
    return dict(
        t_r=spec["t_r"],
        hrf_model=m.get("hrf_model", "glover"),
        drift_model=m.get("drift_model", "cosine"),
        high_pass=m.get("high_pass", 0.01),
        drift_order=m.get("drift_order", 1),
        fir_delays=m.get("fir_delays", [0]),
        noise_model=m.get("noise_model", "ar1"),
        slice_time_ref=m.get("slice_time_ref", 0.0),
        min_onset=m.get("min_onset", -24),
        standardize=False,
        signal_scaling=0,
        n_jobs=1,
    )


def _design_only(spec: dict, versions: dict) -> dict:
    """nistats' design for ``n_scans`` scans, as FirstLevelModel.fit builds it."""
    import numpy as np
    from nistats.design_matrix import make_first_level_design_matrix

    kw = _model_kwargs(spec)
    frame_times = _frame_times(kw["t_r"], kw["slice_time_ref"], int(spec["n_scans"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = make_first_level_design_matrix(
            frame_times,
            _events(spec["events"]),
            kw["hrf_model"],
            kw["drift_model"],
            kw["high_pass"],
            kw["drift_order"],
            kw["fir_delays"],
            None,
            None,
            kw["min_onset"],
        )
    np.savez(
        spec["out"],
        design=design.values,
        design_columns=np.array([str(c) for c in design.columns]),
    )
    return {"versions": versions, "spec": spec, "checks": _numpy_checks(), "timings_s": {}}


def run(spec: dict) -> dict:
    _disable_avx512_loops(spec)
    versions = import_nistats()
    if spec.get("design_only"):
        meta = _design_only(spec, versions)
        _write_meta(spec, meta)
        return meta
    import nibabel as nib
    import numpy as np
    from nilearn.image import concat_imgs
    from nistats.first_level_model import FirstLevelModel, mean_scaling
    from nistats.regression import OLSModel
    from nistats.thresholding import map_threshold

    t0 = time.time()
    timings = {}
    img = concat_imgs(spec["func"])  # float32, the tutorial's stacking
    timings["load"] = time.time() - t0
    events = _events(spec["events"])
    kwargs = _model_kwargs(spec)
    if spec.get("mask"):
        kwargs["mask_img"] = nib.load(spec["mask"])
    model = FirstLevelModel(**kwargs)
    t1 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(img, events)
    timings["fit"] = time.time() - t1

    mask = np.asarray(model.masker_.mask_img_.get_fdata()) > 0
    design = model.design_matrices_[0]
    columns = [str(c) for c in design.columns]
    labels = np.asarray(model.labels_[0], dtype=np.float64)

    # The raw AR(1) estimate: run_glm keeps only the binned value (labels_). Recompute it
    # exactly as first_level_model.run_glm does, on the same masked, scaled signals.
    Y = model.masker_.transform(img)
    Y, _ = mean_scaling(Y, model.scaling_axis)
    X = design.values
    checks = {"signal_dtype": str(Y.dtype), "n_voxels": int(mask.sum()), **_numpy_checks()}
    if kwargs["noise_model"] == "ar1":
        ols = OLSModel(X).fit(Y)
        res = ols.residuals
        rho_raw = (res[1:] * res[:-1]).sum(axis=0) / (res**2).sum(axis=0)
        checks["residual_dtype"] = str(res.dtype)
        checks["rho_dtype"] = str(rho_raw.dtype)
        binned = (rho_raw * 100).astype(int) * 1.0 / 100  # run_glm: bins=100
        checks["rho_raw_bins_to_labels"] = bool(np.array_equal(binned, labels))
        del ols, res
    else:
        rho_raw = np.full(labels.shape, np.nan)
    del Y

    out = {
        "mask": mask,
        "affine": model.masker_.mask_img_.affine,
        "design": X,
        "design_columns": np.array(columns),
        "labels": labels,
        "rho_raw": rho_raw,
    }
    nifti_dir = spec.get("nifti_dir")
    if nifti_dir:
        os.makedirs(nifti_dir, exist_ok=True)
    z_imgs = {}
    t2 = time.time()
    for con in spec.get("contrasts", []):
        C = _contrast_matrix(con["rows"], columns)
        con_val = C[0] if C.shape[0] == 1 else C
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            maps = model.compute_contrast(
                con_val, stat_type=con.get("stat_type"), output_type="all"
            )
        name = con["name"]
        for key, short in (
            ("z_score", "z"),
            ("stat", "stat"),
            ("p_value", "p"),
            ("effect_size", "effect"),
            ("effect_variance", "variance"),
        ):
            out[f"{name}__{short}"] = np.asarray(maps[key].get_fdata(dtype=np.float64))[mask]
        z_imgs[name] = maps["z_score"]
        if nifti_dir:
            stat_label = "t" if C.shape[0] == 1 else "F"
            for key, stat in (
                ("z_score", "z"),
                ("stat", stat_label),
                ("p_value", "p"),
                ("effect_size", "effect"),
                ("effect_variance", "variance"),
            ):
                if C.shape[0] > 1 and key in ("effect_size", "effect_variance"):
                    continue
                maps[key].to_filename(os.path.join(nifti_dir, _bids_name(name, stat)))
    timings["contrasts"] = time.time() - t2
    if nifti_dir:
        model.masker_.mask_img_.to_filename(os.path.join(nifti_dir, "mask.nii.gz"))

    # nistats.thresholding.map_threshold on nistats' own z image, options as given
    thresholds = []
    for th in spec.get("thresholds", []):
        kw = {k: v for k, v in th.items() if k != "contrast"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            thr_img, thr = map_threshold(z_imgs[th["contrast"]], **kw)
        data = np.asarray(thr_img.get_fdata())
        thresholds.append(
            {**th, "threshold": float(thr), "n_suprathreshold": int(np.count_nonzero(data))}
        )

    np.savez(spec["out"], **out)
    meta = {
        "versions": versions,
        "spec": spec,
        "timings_s": timings,
        "checks": checks,
        "thresholds": thresholds,
        "n_scans": int(img.shape[3]),
        "img_dtype": str(img.get_data_dtype()),
    }
    _write_meta(spec, meta)
    return meta


def _write_meta(spec: dict, meta: dict) -> None:
    with open(os.path.splitext(spec["out"])[0] + ".json", "w") as f:
        json.dump(meta, f, indent=1, default=str)


def main(argv):
    if len(argv) != 2:
        raise SystemExit(__doc__)
    if argv[1] == "--versions":
        _disable_avx512_loops({})
        print(json.dumps({**import_nistats(), **_numpy_checks()}))
        return
    text = sys.stdin.read() if argv[1] == "-" else open(argv[1]).read()
    meta = run(json.loads(text))
    print(json.dumps({k: meta.get(k) for k in ("timings_s", "checks", "thresholds")}))


if __name__ == "__main__":
    main(sys.argv)
