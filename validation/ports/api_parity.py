#!/usr/bin/env python
"""API parity of refglm against nilearn 0.14.1's first-level GLM API (issue 12).

Run from the repository's venv (nilearn 0.14.1 installed):

    .venv/bin/python validation/ports/api_parity.py  # "before": refglm as it is
    .venv/bin/python validation/ports/api_parity.py --facade refglm.nilearn  # "after": the facade

What counts as a "name" (the rule)
----------------------------------
1. module level: every public callable in ``__all__`` of ``nilearn.glm`` (its
   sub-modules ``first_level``/``second_level`` excluded: second level is out of
   scope) and of ``nilearn.glm.first_level``; ``nilearn.reporting.get_clusters_table``
   and ``make_glm_report``; the five ``nilearn.plotting`` functions the GLM tutorials
   use (``plot_design_matrix``, ``plot_contrast_matrix``, ``plot_stat_map``,
   ``plot_event``, ``plot_design_matrix_correlation``);
2. every public method of ``FirstLevelModel`` (``dir()`` without a leading ``_``,
   callables), without sklearn's metadata-routing helpers (``get_metadata_routing``,
   ``set_fit_request``), plus ``sklearn.base.clone`` applied to it;
3. every parameter of ``FirstLevelModel.__init__``, ``.fit`` and ``.compute_contrast``;
4. every fitted attribute: the instance attributes ending in ``_`` after ``fit`` and
   the class's public properties (``mask_img_``, ``residuals_``, ``predicted_``,
   ``r_square_``, and the deprecated aliases ``residuals``, ``predicted``, ``r_square``).

Where refglm is searched
------------------------
Before: the public modules of refglm, in this order (first ``__all__`` holding the same
name): refglm, refglm.first_level, refglm.glm.design, refglm.glm.contrasts,
refglm.glm.scaling, refglm.glm.engines.statsmodels, refglm.inference, refglm.plotting,
refglm.datasets; ``FirstLevelModel`` is ``refglm.FirstLevelModel``. A renamed
equivalent (``map_threshold`` for ``threshold_stats_img``) does not count.
After (``--facade M``): module ``M`` only.

Status of a name
----------------
- missing: no object/parameter/attribute of that name;
- different: any of (a) signature: a nilearn parameter absent, at another position
  (positions are compared for functions and methods, not for ``__init__``: sklearn
  estimators are built by keyword), another default, an extra required parameter;
  (b) values: the numeric check of the name gives other numbers than nilearn's
  (``NUMERIC``); (c) behaviour: a probe attached to the name (``PROBES``: run on the
  same synthetic run with both libraries) behaves otherwise;
- same: none of these.
The "signature only" count applies (a) alone.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import warnings
from collections import Counter, OrderedDict

import nibabel as nib
import numpy as np
import pandas as pd

warnings.simplefilter("ignore")

REFGLM_PUBLIC = [
    "refglm",
    "refglm.first_level",
    "refglm.glm.design",
    "refglm.glm.contrasts",
    "refglm.glm.scaling",
    "refglm.glm.engines.statsmodels",
    "refglm.inference",
    "refglm.plotting",
    "refglm.datasets",
]
PLOTTING = [
    "plot_design_matrix",
    "plot_contrast_matrix",
    "plot_stat_map",
    "plot_event",
    "plot_design_matrix_correlation",
]
METHOD_EXCLUDE = {"get_metadata_routing", "set_fit_request"}
DEPRECATED = {"residuals", "predicted", "r_square"}
LOW_LEVEL_CLASSES = {
    "ARModel",
    "OLSModel",
    "RegressionResults",
    "SimpleRegressionResults",
    "LikelihoodModelResults",
    "TContrastResults",
    "FContrastResults",
    "Contrast",
}


# ----------------------------------------------------------------------------- names
def nilearn_names():
    import nilearn.glm as g
    import nilearn.glm.first_level as fl
    import nilearn.plotting as plotting
    import nilearn.reporting as reporting

    items = []
    for mod in (g, fl):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            items.append(("module: " + mod.__name__, name, obj))
    for name in ("get_clusters_table", "make_glm_report"):
        items.append(("module: nilearn.reporting", name, getattr(reporting, name)))
    for name in PLOTTING:
        items.append(("module: nilearn.plotting", name, getattr(plotting, name)))
    return items


def flm_methods(cls):
    out = []
    for name in dir(cls):
        if name.startswith("_") or name in METHOD_EXCLUDE:
            continue
        static = inspect.getattr_static(cls, name)
        if isinstance(static, property) or type(static).__name__ in (
            "cached_property",
            "auto_attr",
            "OneTimeProperty",
        ):
            continue
        if callable(getattr(cls, name)):
            out.append(name)
    return out


def flm_properties(cls):
    out = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(cls, name)
        if isinstance(static, property) or type(static).__name__ in (
            "cached_property",
            "OneTimeProperty",
        ):
            out.append(name)
    return out


# ------------------------------------------------------------------------ signatures
def _same_default(a, b):
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return float(a) == float(b)
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return repr(a) == repr(b)


def _params(sig):
    return [p for p in sig.parameters.values() if p.name != "self"]


def compare_signature(nobj, robj, positions=True):
    """Differences a nilearn call would meet, as short strings."""
    try:
        nsig = inspect.signature(nobj)
        rsig = inspect.signature(robj)
    except (TypeError, ValueError) as e:
        return [f"signature unavailable ({e})"]
    diffs = []
    npar, rpar = _params(nsig), _params(rsig)
    rmap = {p.name: p for p in rpar}
    npos = [p.name for p in npar if p.kind is p.POSITIONAL_OR_KEYWORD]
    rpos = [p.name for p in rpar if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)]
    r_var_kw = any(p.kind is p.VAR_KEYWORD for p in rpar)
    for p in npar:
        if p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.VAR_KEYWORD:
            if not r_var_kw:
                diffs.append("no **kwargs")
            continue
        q = rmap.get(p.name)
        if q is None:
            diffs.append(f"no `{p.name}`")
            continue
        if not _same_default(p.default, q.default):
            nd = "required" if p.default is p.empty else repr(p.default)
            rd = "required" if q.default is q.empty else repr(q.default)
            diffs.append(f"`{p.name}` default {rd} (nilearn {nd})")
        if positions and p.name in npos:
            i = npos.index(p.name)
            j = rpos.index(p.name) if p.name in rpos else None
            if j != i:
                where = "keyword-only" if j is None else f"position {j}"
                diffs.append(f"`{p.name}` at {where} (nilearn {i})")
    nnames = {p.name for p in npar}
    for q in rpar:
        if (
            q.name not in nnames
            and q.default is q.empty
            and q.kind
            not in (
                q.VAR_POSITIONAL,
                q.VAR_KEYWORD,
            )
        ):
            diffs.append(f"extra required `{q.name}`")
    return diffs


# ------------------------------------------------------------------ synthetic data
def synthetic(seed=0, n_scans=40, t_r=2.0):
    rng = np.random.default_rng(seed)
    shape = (7, 7, 7)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    mask = np.zeros(shape, dtype=np.int8)
    mask[1:-1, 1:-1, 1:-1] = 1
    t = np.arange(n_scans) * t_r
    box = ((t // 10) % 2).astype(float)
    data = 100 + 3 * rng.standard_normal(shape + (n_scans,))
    data += 2.0 * box * rng.random(shape)[..., None]
    img = nib.Nifti1Image(data, affine)
    events = pd.DataFrame(
        {
            "onset": np.arange(0, n_scans * t_r, 20.0),
            "duration": 10.0,
            "trial_type": ["c0", "c1"] * int(np.ceil(n_scans * t_r / 40.0)),
        }
    ).iloc[: len(np.arange(0, n_scans * t_r, 20.0))]
    confounds = pd.DataFrame({"motion": rng.standard_normal(n_scans)})
    return img, nib.Nifti1Image(mask, affine), events, confounds


def _arr(img):
    return np.asarray(img.get_fdata())


def _maxdiff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return f"shape {b.shape} (nilearn {a.shape})"
    d = float(np.nanmax(np.abs(a - b))) if a.size else 0.0
    return None if d <= 1e-10 else f"max |diff| {d:.3g}"


# ------------------------------------------------------------------------- probes
class Sides:
    """The two libraries' FirstLevelModel and fit inputs, shared by the probes."""

    def __init__(self, rflm):
        from nilearn.glm.first_level import FirstLevelModel as NFLM

        self.N, self.R = NFLM, rflm
        self.img, self.mask, self.events, self.confounds = synthetic()
        self.img2, _, _, _ = synthetic(seed=1)

    def both(self, init=None, fit_args=(), fit_kwargs=None, after=None):
        """Run the same calls on both sides; return (nilearn outcome, refglm outcome)."""
        init = dict(t_r=2.0, mask_img=self.mask, **(init or {}))
        fit_kwargs = fit_kwargs or {}
        out = []
        for cls in (self.N, self.R):
            try:
                model = cls(**init).fit(*fit_args, **fit_kwargs)
                out.append(("ok", after(model) if after else model))
            except Exception as e:  # noqa: BLE001
                out.append(("error", f"{type(e).__name__}: {str(e).splitlines()[0][:90]}"))
        return out


def _outcome_diff(n, r, compare):
    if n[0] != r[0]:
        if r[0] == "error":
            return f"raises {r[1]}"
        return f"accepted where nilearn raises {n[1]}"
    if n[0] == "error":
        return None if n[1].split(":")[0] == r[1].split(":")[0] else f"raises {r[1]}"
    return compare(n[1], r[1])


def probe_defaults(s):
    f = lambda m: _arr(m.compute_contrast("c0 - c1"))  # noqa: E731
    n, r = s.both(fit_args=(s.img, s.events), after=f)
    d = _outcome_diff(n, r, _maxdiff)
    return d and f"default z map: {d} (other numbers with nilearn's defaults)"


def probe_positional_confounds(s):
    f = lambda m: list(m.design_matrices_[0].columns)  # noqa: E731
    n, r = s.both(fit_args=(s.img, s.events, s.confounds), after=f)
    d = _outcome_diff(n, r, lambda a, b: None if a == b else f"design columns {b} (nilearn {a})")
    return d and f"fit(img, events, confounds): {d}"


def probe_several_runs(s):
    f = lambda m: (len(m.design_matrices_), _arr(m.compute_contrast("c0 - c1")))  # noqa: E731

    def cmp(a, b):
        if a[0] != b[0]:
            return f"{b[0]} design(s) (nilearn {a[0]})"
        return _maxdiff(a[1], b[1])

    n, r = s.both(fit_args=([s.img, s.img2], [s.events, s.events]), after=f)
    d = _outcome_diff(n, r, cmp)
    return d and f"two runs: {d}"


def probe_design_list(s):
    from nilearn.glm.first_level import make_first_level_design_matrix

    ft = np.arange(40) * 2.0
    d1 = make_first_level_design_matrix(ft, s.events)
    n, r = s.both(fit_args=(s.img,), fit_kwargs=dict(design_matrices=[d1, d1]))
    d = _outcome_diff(n, r, lambda a, b: None)
    return d and f"design_matrices=[d1, d2] with one run: {d}"


def probe_list_contrasts(s):
    f = lambda m: _arr(m.compute_contrast(["c0 - c1", "c0 + c1"]))  # noqa: E731
    n, r = s.both(fit_args=(s.img, s.events), after=f)
    d = _outcome_diff(n, r, _maxdiff)
    return d and f"compute_contrast([2 contrasts]) on one run: {d}"


def probe_output_all(s):
    def f(m):
        out = m.compute_contrast("c0 - c1", output_type="all")
        return {k: _arr(v) for k, v in out.items()}

    def cmp(a, b):
        if list(a) != list(b):
            return f"keys {list(b)} (nilearn {list(a)})"
        diffs = [k for k in a if _maxdiff(a[k], b[k])]
        return diffs and f"values differ in {diffs}" or None

    n, r = s.both(init=dict(noise_model="ols"), fit_args=(s.img, s.events), after=f)
    d = _outcome_diff(n, r, cmp)
    return d and f"output_type='all': {d}"


def probe_standardize(s):
    f = lambda m: _arr(m.compute_contrast("c0 - c1", output_type="effect_size"))  # noqa: E731
    n, r = s.both(
        init=dict(standardize=True, signal_scaling=False, noise_model="ols"),
        fit_args=(s.img, s.events),
        after=f,
    )
    d = _outcome_diff(n, r, _maxdiff)
    return d and f"standardize=True, signal_scaling=False, effect size: {d}"


def probe_ar2(s):
    f = lambda m: _arr(m.compute_contrast("c0 - c1"))  # noqa: E731
    # random_state fixes nilearn's KMeans of the AR(2) coefficients (run_glm: KMeans(n_init=10))
    n, r = s.both(init=dict(noise_model="ar2", random_state=0), fit_args=(s.img, s.events), after=f)
    d = _outcome_diff(n, r, _maxdiff)
    return d and f"noise_model='ar2', random_state=0: {d}"


def _my_hrf(t_r, oversampling=50):
    from nilearn.glm.first_level import spm_hrf

    return spm_hrf(t_r, oversampling) ** 2


def probe_callable_hrf(s):
    f = lambda m: m.design_matrices_[0]  # noqa: E731

    def cmp(a, b):
        if list(a.columns) != list(b.columns):
            return f"columns {list(b.columns)} (nilearn {list(a.columns)})"
        return _maxdiff(a.to_numpy(), b.to_numpy())

    n, r = s.both(init=dict(hrf_model=_my_hrf), fit_args=(s.img, s.events), after=f)
    d = _outcome_diff(n, r, cmp)
    return d and f"hrf_model=<callable>: {d}"


def probe_fir_none(s):
    f = lambda m: list(m.design_matrices_[0].columns)  # noqa: E731
    n, r = s.both(init=dict(hrf_model="fir", fir_delays=None), fit_args=(s.img, s.events), after=f)
    d = _outcome_diff(n, r, lambda a, b: None if a == b else f"columns {b} (nilearn {a})")
    return d and f"hrf_model='fir', fir_delays=None: {d}"


def probe_mask_false(s):
    out = []
    for cls in (s.N, s.R):
        try:
            m = cls(t_r=2.0, mask_img=False).fit(s.img, s.events)
            out.append(("ok", int(np.asarray(m.mask_img_.dataobj).sum())))
        except Exception as e:  # noqa: BLE001
            out.append(("error", f"{type(e).__name__}: {str(e).splitlines()[0][:90]}"))
    d = _outcome_diff(*out, lambda a, b: None if a == b else f"{b} voxels (nilearn {a})")
    return d and f"mask_img=False: {d}"


def _residual_probe(attr):
    def probe(s):
        def f(m):
            value = getattr(m, attr)
            return [_arr(v) for v in value]

        def cmp(a, b):
            if len(a) != len(b):
                return f"{len(b)} images (nilearn {len(a)})"
            return _maxdiff(a[0], b[0])

        n, r = s.both(init=dict(minimize_memory=False), fit_args=(s.img, s.events), after=f)
        d = _outcome_diff(n, r, cmp)
        return d and f"`{attr}` with minimize_memory=False: {d}"

    return probe


def probe_min_memory(s):
    return _residual_probe("residuals_")(s)


def probe_get_params(s):
    out = []
    for cls in (s.N, s.R):
        try:
            out.append(("ok", sorted(cls(t_r=2.0).get_params())))
        except Exception as e:  # noqa: BLE001
            out.append(("error", f"{type(e).__name__}: {e}"))
    d = _outcome_diff(*out, lambda a, b: None if a == b else f"keys {b} (nilearn {a})")
    return d and f"get_params(): {d}"


def probe_set_params(s):
    out = []
    for cls in (s.N, s.R):
        try:
            m = cls(t_r=2.0).set_params(t_r=3.0)
            out.append(("ok", m.t_r))
        except Exception as e:  # noqa: BLE001
            out.append(("error", f"{type(e).__name__}: {e}"))
    d = _outcome_diff(*out, lambda a, b: None if a == b else f"{b} (nilearn {a})")
    return d and f"set_params(t_r=3): {d}"


def probe_clone(s):
    from sklearn.base import clone

    out = []
    for cls in (s.N, s.R):
        try:
            out.append(("ok", clone(cls(t_r=2.0, noise_model="ols")).noise_model))
        except Exception as e:  # noqa: BLE001
            out.append(("error", f"{type(e).__name__}: {str(e)[:80]}"))
    d = _outcome_diff(*out, lambda a, b: None if a == b else f"{b} (nilearn {a})")
    return d and f"sklearn.base.clone: {d}"


def probe_generate_report(s):
    n, r = s.both(
        init=dict(noise_model="ols"),
        fit_args=(s.img, s.events),
        after=lambda m: type(m.generate_report(contrasts="c0 - c1")).__name__,
    )
    d = _outcome_diff(n, r, lambda a, b: None if a == b else f"returns {b} (nilearn {a})")
    return d and f"generate_report: {d}"


#: probes attached to names (keys are the table's names)
PROBES = {
    "FirstLevelModel": [probe_defaults],
    "init.hrf_model": [probe_callable_hrf],
    "init.fir_delays": [probe_fir_none],
    "init.mask_img": [probe_mask_false],
    "init.standardize": [probe_standardize],
    "init.noise_model": [probe_ar2],
    "init.minimize_memory": [probe_min_memory],
    "method.fit": [probe_positional_confounds, probe_several_runs, probe_design_list],
    "fit.run_imgs": [probe_several_runs],
    "fit.events": [probe_several_runs],
    "fit.design_matrices": [probe_design_list],
    "method.compute_contrast": [probe_list_contrasts, probe_output_all],
    "compute_contrast.contrast_def": [probe_list_contrasts],
    "compute_contrast.output_type": [probe_output_all],
    "method.get_params": [probe_get_params],
    "method.set_params": [probe_set_params],
    "method.clone": [probe_clone],
    "method.generate_report": [probe_generate_report],
    "attr.residuals_": [_residual_probe("residuals_")],
    "attr.predicted_": [_residual_probe("predicted_")],
    "attr.r_square_": [_residual_probe("r_square_")],
    "attr.residuals": [_residual_probe("residuals")],
    "attr.predicted": [_residual_probe("predicted")],
    "attr.r_square": [_residual_probe("r_square")],
}


# ------------------------------------------------------------ numeric checks (values)
def _numeric_checks():
    rng = np.random.default_rng(3)
    ft = np.arange(60) * 2.0
    ev = pd.DataFrame(
        {"onset": [0.0, 30.0, 60.0, 90.0], "duration": [5.0] * 4, "trial_type": ["a", "b"] * 2}
    )
    z = rng.standard_normal((9, 9, 9)) * 2
    y_scaling = rng.random((20, 5)) * 100 + 50
    zimg = nib.Nifti1Image(z, np.diag([3.0, 3.0, 3.0, 1.0]))

    def call(f, *a, **k):
        return f(*a, **k)

    def first(x):
        return x[0] if isinstance(x, tuple) else x

    def table_cmp(a, b):
        a, b = first(a), first(b)
        if a.shape != b.shape:
            return f"table shape {b.shape} (nilearn {a.shape})"
        return _maxdiff(
            a[["X", "Y", "Z", "Peak Stat"]].to_numpy(float),
            b[["X", "Y", "Z", "Peak Stat"]].to_numpy(float),
        )

    def img_pair_cmp(a, b):
        (ai, at), (bi, bt) = a, b
        if abs(float(at) - float(bt)) > 1e-10:
            return f"threshold {float(bt):.6g} (nilearn {float(at):.6g})"
        return _maxdiff(_arr(ai), _arr(bi))

    hrf = lambda f: call(f, 2.0)  # noqa: E731
    return {
        "spm_hrf": (hrf, _maxdiff),
        "glover_hrf": (hrf, _maxdiff),
        "spm_time_derivative": (hrf, _maxdiff),
        "glover_time_derivative": (hrf, _maxdiff),
        "spm_dispersion_derivative": (hrf, _maxdiff),
        "glover_dispersion_derivative": (hrf, _maxdiff),
        "mean_scaling": (lambda f: f(y_scaling.copy())[0], _maxdiff),
        "expression_to_contrast_vector": (lambda f: f("a - 2 * b", ["a", "b", "c"]), _maxdiff),
        "fdr_threshold": (lambda f: f(np.ravel(z), 0.05), _maxdiff),
        "make_first_level_design_matrix": (
            lambda f: f(ft, ev).to_numpy(),
            _maxdiff,
        ),
        "compute_regressor": (
            lambda f: f((np.array([0.0, 30.0]), np.array([5.0, 5.0]), np.ones(2)), "glover", ft)[0],
            _maxdiff,
        ),
        "threshold_stats_img": (lambda f: f(zimg, alpha=0.05, height_control="fdr"), img_pair_cmp),
        "get_clusters_table": (lambda f: f(zimg, 2.5), table_cmp),
    }


# -------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--facade", help="refglm facade module to test (the 'after' table)")
    args = ap.parse_args(argv)

    import nilearn
    from nilearn.glm.first_level import FirstLevelModel as NFLM

    if args.facade:
        facade = importlib.import_module(args.facade)
        lookup_modules = [facade]
        RFLM = getattr(facade, "FirstLevelModel", None)
        side = args.facade
    else:
        lookup_modules = [importlib.import_module(m) for m in REFGLM_PUBLIC]
        import refglm

        RFLM = refglm.FirstLevelModel
        side = "refglm (before)"

    def find(name):
        for mod in lookup_modules:
            names = getattr(mod, "__all__", None) or dir(mod)
            if name in names and hasattr(mod, name):
                return mod.__name__, getattr(mod, name)
        return None, None

    sides = Sides(RFLM) if RFLM is not None else None
    numeric = _numeric_checks()
    rows = []  # (group, name, status, how)

    def decide(key, sig_diffs, extra_diffs, where=""):
        how = "; ".join(sig_diffs + extra_diffs)
        status = "different" if how else "same"
        status_sig = "different" if sig_diffs else "same"
        return status, status_sig, (where + (": " if where and how else "") + how)

    def run_probes(key):
        out = []
        if sides is None:
            return out
        for probe in PROBES.get(key, []):
            try:
                d = probe(sides)
            except Exception as e:  # noqa: BLE001
                d = f"probe failed: {type(e).__name__}: {e}"
            if d:
                out.append(d)
        return out

    # 1. module level
    for group, name, nobj in nilearn_names():
        where, robj = find(name)
        if name == "FirstLevelModel":
            robj, where = RFLM, (side if RFLM is not None else None)
        if robj is None:
            rows.append((group, name, "missing", "missing", ""))
            continue
        is_class = inspect.isclass(nobj)
        sig = compare_signature(
            nobj.__init__ if is_class else nobj,
            robj.__init__ if inspect.isclass(robj) else robj,
            positions=not is_class,
        )
        extra = run_probes(name)
        if name in numeric:
            produce, cmp = numeric[name]
            try:
                a = produce(nobj)
            except Exception as e:  # noqa: BLE001
                a = e
            try:
                b = produce(robj)
                d = None if isinstance(a, Exception) else cmp(a, b)
            except Exception as e:  # noqa: BLE001
                d = f"the nilearn call raises {type(e).__name__}: {str(e).splitlines()[0][:80]}"
            if d:
                extra.append("values: " + d)
        s, s_sig, how = decide(name, sig, extra, where)
        rows.append((group, name, s, s_sig, how))

    # 2. methods
    for name in flm_methods(NFLM) + ["clone"]:
        key = "method." + name
        if RFLM is None:
            rows.append(("FirstLevelModel method", name, "missing", "missing", ""))
            continue
        if name == "clone":
            extra = run_probes(key)
            status = "different" if extra else "same"
            if extra and all("raises" in e for e in extra):
                status = "missing"
            rows.append(
                ("FirstLevelModel method", "sklearn.base.clone", status, status, "; ".join(extra))
            )
            continue
        robj = getattr(RFLM, name, None)
        if robj is None:
            rows.append(("FirstLevelModel method", name, "missing", "missing", ""))
            continue
        sig = compare_signature(getattr(NFLM, name), robj)
        s, s_sig, how = decide(key, sig, run_probes(key))
        rows.append(("FirstLevelModel method", name, s, s_sig, how))

    # 3. parameters
    for method, prefix, positions in (
        ("__init__", "init", False),
        ("fit", "fit", True),
        ("compute_contrast", "compute_contrast", True),
    ):
        nsig = inspect.signature(getattr(NFLM, method))
        rsig = inspect.signature(getattr(RFLM, method)) if RFLM is not None else None
        npos = [p.name for p in _params(nsig) if p.kind is p.POSITIONAL_OR_KEYWORD]
        rpos = [p.name for p in _params(rsig)] if rsig else []
        for p in _params(nsig):
            key = f"{prefix}.{p.name}"
            group = f"FirstLevelModel.{method} parameter"
            q = rsig.parameters.get(p.name) if rsig else None
            if q is None:
                rows.append((group, p.name, "missing", "missing", ""))
                continue
            sig = []
            if not _same_default(p.default, q.default):
                sig.append(f"default {q.default!r} (nilearn {p.default!r})")
            if positions and npos.index(p.name) != rpos.index(p.name):
                sig.append(f"position {rpos.index(p.name)} (nilearn {npos.index(p.name)})")
            s, s_sig, how = decide(key, sig, run_probes(key))
            rows.append((group, p.name, s, s_sig, how))

    # 4. fitted attributes
    img, mask, events, _ = synthetic()
    nfit = NFLM(t_r=2.0, mask_img=mask, minimize_memory=False).fit(img, events)
    nattrs = sorted(
        a for a in vars(nfit) if a.endswith("_") and not a.startswith("_") and a != "mask_img_"
    )
    nattrs = sorted(set(nattrs) | set(flm_properties(NFLM)))
    rfit = None
    if RFLM is not None:
        try:
            rfit = RFLM(t_r=2.0, mask_img=mask).fit(img, events)
        except Exception:  # noqa: BLE001
            rfit = None
    for a in nattrs:
        key = "attr." + a
        label = a + (" (deprecated)" if a in DEPRECATED else "")
        present = rfit is not None and a in dir(rfit)
        if not present:
            rows.append(("fitted attribute", label, "missing", "missing", ""))
            continue
        s, s_sig, how = decide(key, [], run_probes(key))
        rows.append(("fitted attribute", label, s, s_sig, how))

    # ----- print
    print(f"# API parity: nilearn {nilearn.__version__} vs {side}\n")
    print("| group | name | status | how (signature; values; behaviour) |")
    print("|---|---|---|---|")
    for group, name, s, _s_sig, how in rows:
        print(f"| {group} | `{name}` | {s} | {how.replace('|', '/')} |")
    total = Counter(r[2] for r in rows)
    total_sig = Counter(r[3] for r in rows)
    print()
    print(f"Names: {len(rows)}")
    print(
        f"Counts (rule above): same {total['same']}, different {total['different']}, "
        f"missing {total['missing']}"
    )
    print(
        f"Counts (signature only): same {total_sig['same']}, different {total_sig['different']}, "
        f"missing {total_sig['missing']}"
    )
    core = [r for r in rows if r[1] not in LOW_LEVEL_CLASSES and not r[1].endswith("(deprecated)")]
    c = Counter(r[2] for r in core)
    print(
        f"Counts without the 8 low-level model/result classes and the 3 deprecated "
        f"aliases ({len(core)} names): same {c['same']}, different {c['different']}, "
        f"missing {c['missing']}"
    )
    by_group = OrderedDict()
    for r in rows:
        by_group.setdefault(r[0], Counter())[r[2]] += 1
    print("\nBy group:")
    for g, c in by_group.items():
        print(f"- {g}: same {c['same']}, different {c['different']}, missing {c['missing']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
