"""nistats 0.0.1b1's ``first_level_model``: ``FirstLevelModel`` and ``mean_scaling``.

``from nistats.first_level_model import FirstLevelModel`` becomes ``from
refglm.nistats.first_level_model import FirstLevelModel``: nistats 0.0.1b1's
parameters, defaults and positions (``fit(run_imgs, events=None, confounds=None,
design_matrices=None)``), and the numbers of the nistats tutorial (the golden values
of ``tests/validation``). A list of images is several runs (contrasts are their fixed
effects); a list of contrasts holds one per run.

Where nistats 0.0.1b1 has a bug, this facade does not copy it and says so:

- ``compute_contrast`` with a list whose length is not the number of runs repeats it
  in nistats (on one run, ``['a - b', 'a + b']`` silently computes ``'a - b'`` only);
  here it raises, as nilearn does (one contrast for several runs is still used for
  all, with a warning);
- ``__init__`` rewrites ``signal_scaling`` to True in nistats, which ``get_params`` and
  ``sklearn.base.clone`` then carry; here every parameter is stored as given.

The fits run on refglm's vectorized engine, tested equal to the statsmodels reference
within 1e-10; set ``engine = 'statsmodels'`` on the class or an instance for the
voxel-by-voxel loop.
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.first_level.model import FirstLevelModel as _ReferenceModel
from refglm.glm.contrasts import expression_to_contrast_vector
from refglm.glm.scaling import mean_scaling as _mean_scaling
from refglm.nilearn.model import FittedMasker, nilearn_results

__all__ = ["FirstLevelModel", "mean_scaling"]


def mean_scaling(Y, axis=0):
    r"""Percent signal change :math:`100(Y/\max(\bar Y, 1) - 1)`: nistats' ``mean_scaling``.

    # nistats 0.0.1b1 first_level_model.py mean_scaling
    """
    return _mean_scaling(np.asarray(Y), axis)


class FirstLevelModel(_ReferenceModel):
    """nistats 0.0.1b1's ``FirstLevelModel``, computed by refglm under convention 'nistats'.

    Parameters
    ----------
    t_r, slice_time_ref, hrf_model, drift_model, high_pass, drift_order, fir_delays, \
min_onset
        The design (nistats' defaults: ``fir_delays=[0]``).
    mask_img : image, path, False or None
        None: the EPI mask of the first run, for every run (nistats).
    target_affine, target_shape
        None only (refglm does not resample).
    smoothing_fwhm : float or None
    memory, memory_level, verbose, subject_label
        Stored; no caching, no log.
    standardize : bool
        Z-scores each voxel (ddof 0) when ``signal_scaling=False``, as nistats' masker.
    signal_scaling : {0, 1, (0, 1), False}
    noise_model : {'ar1', 'ols'}
    n_jobs : int
    minimize_memory : bool
    """

    convention = "nistats"
    engine = "vectorized"
    chunk_size = 2048
    backend = None
    progress = None
    oversampling = None
    microtime_onset = None
    global_normalization = None
    implicit_mask_threshold = None
    modulators = None
    random_state = None
    _refuse_inestimable = False
    _volumes_list_is_one_run = False
    _strings_list_is_f_rows = False

    def __init__(
        self,
        t_r=None,
        slice_time_ref=0.0,
        hrf_model="glover",
        drift_model="cosine",
        high_pass=0.01,
        drift_order=1,
        fir_delays=[0],  # noqa: B006  (nistats 0.0.1b1's default, a list)
        min_onset=-24,
        mask_img=None,
        target_affine=None,
        target_shape=None,
        smoothing_fwhm=None,
        memory=None,
        memory_level=1,
        standardize=False,
        signal_scaling=0,
        noise_model="ar1",
        verbose=0,
        n_jobs=1,
        minimize_memory=True,
        subject_label=None,
    ):
        self.t_r = t_r
        self.slice_time_ref = slice_time_ref
        self.hrf_model = hrf_model
        self.drift_model = drift_model
        self.high_pass = high_pass
        self.drift_order = drift_order
        self.fir_delays = fir_delays
        self.min_onset = min_onset
        self.mask_img = mask_img
        self.target_affine = target_affine
        self.target_shape = target_shape
        self.smoothing_fwhm = smoothing_fwhm
        self.memory = memory
        self.memory_level = memory_level
        self.standardize = standardize
        self.signal_scaling = signal_scaling
        self.noise_model = noise_model
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.minimize_memory = minimize_memory
        self.subject_label = subject_label

    def fit(self, run_imgs, events=None, confounds=None, design_matrices=None):
        """Fit the GLM to each run, as nistats 0.0.1b1's ``FirstLevelModel.fit``.

        Parameters
        ----------
        run_imgs : 4-D image, path, or list of them (one per run)
        events : DataFrame, path, or list of them (one per run)
        confounds : DataFrame, or list of them (one per run)
        design_matrices : DataFrame, or list of them (one per run)

        Returns
        -------
        self
        """
        if self.target_affine is not None or self.target_shape is not None:
            raise InputError(
                "target_affine, target_shape: expected None (refglm does not resample), found "
                "a target; resample the images first."
            )
        super().fit(run_imgs, events, confounds, None, design_matrices)
        self.masker_ = FittedMasker(self.mask_, self.affine_)
        self.labels_, self.results_ = [], []
        for fit in self.fits_:
            labels, results = nilearn_results(fit)
            self.labels_.append(labels)
            self.results_.append(results)
        return self

    def compute_contrast(self, contrast_def, stat_type=None, output_type="z_score"):
        """A contrast's map, as nistats 0.0.1b1's ``compute_contrast``.

        Expressions are translated on the first run's columns (nistats 0.0.1b1
        ``design_columns = self.design_matrices_[0].columns``), then used for every run;
        several runs give their fixed effects. An F contrast's ``effect_size`` is the
        first row of its whitened effect (nistats' ``Contrast.effect_size`` returns
        ``effect[0, :]``). ``output_type='all'`` gives a dict of the five maps.
        """
        self._check_fitted()
        columns = self.design_matrices_[0].columns

        def vector(c):
            return expression_to_contrast_vector(c, columns) if isinstance(c, str) else c

        if isinstance(contrast_def, list | tuple):
            contrast_def = [vector(c) for c in contrast_def]
        else:
            contrast_def = vector(contrast_def)
        out = super().compute_contrast(contrast_def, stat_type, output_type)
        images = out if isinstance(out, dict) else {output_type: out}
        if "effect_size" in images and images["effect_size"].ndim == 4:
            from refglm import io

            data, affine = io.image_data(images["effect_size"])
            images["effect_size"] = io.to_image(data[..., 0], affine)
        return images if isinstance(out, dict) else images[output_type]
