"""
Analysis of a single session, single subject fMRI dataset, as a nilearn 0.14.1 user writes it
===========================================================================================

The nistats tutorial on the SPM auditory data (96 scans, TR 7 s, 16 blocks of 42 s), written
with nilearn 0.14.1's API as its own tutorial (examples/00_tutorials/
plot_single_subject_single_run.py) does today, on the local 96-scan copy of the data
(the folder of $REFGLM_DATA_DIR), with its 'active'/'rest' conditions.

This file runs through refglm (``refglm.nilearn``). Replace ``refglm.nilearn`` by
``nilearn`` in the imports and it runs on nilearn 0.14.1 itself: tests/ports/test_ports.py
runs both and compares every number they print.
"""
import os
from pathlib import Path

import numpy as np
import pandas as pd

from refglm.nilearn.glm import threshold_stats_img
from refglm.nilearn.glm.first_level import FirstLevelModel
from refglm.nilearn.image import concat_imgs, mean_img
from refglm.nilearn.plotting import plot_contrast_matrix, plot_design_matrix, plot_stat_map
from refglm.nilearn.reporting import get_clusters_table

# the data: 96 volumes and the events table
data_dir = Path(os.environ["REFGLM_DATA_DIR"]) / "sub001" / "fM00223"
func = sorted(str(path) for path in data_dir.glob("fM00223_*.img"))
print(f"{len(func)} volumes, from {Path(func[0]).name} to {Path(func[-1]).name}")
fmri_img = concat_imgs(func)
mean_image = mean_img(fmri_img, copy_header=True)
events = pd.read_csv(data_dir / "fM00223_events.tsv", sep="\t")
print(events)

# the model
fmri_glm = FirstLevelModel(
    t_r=7,
    noise_model="ar1",
    standardize=False,
    hrf_model="spm",
    drift_model="cosine",
    high_pass=0.01,
)
fmri_glm = fmri_glm.fit(fmri_img, events)
design_matrix = fmri_glm.design_matrices_[0]
print(f"design: {design_matrix.shape[0]} scans, columns {list(design_matrix.columns)}")
print(f"mask: {int(fmri_glm.masker_.mask_img_.get_fdata().sum())} voxels")

output_dir = Path.cwd() / "results"
output_dir.mkdir(exist_ok=True, parents=True)
plot_design_matrix(design_matrix, output_file=output_dir / "design_matrix.png")

# the contrasts
conditions = {"active": np.zeros(16), "rest": np.zeros(16)}
conditions["active"][0] = 1
conditions["rest"][1] = 1
active_minus_rest = conditions["active"] - conditions["rest"]
plot_contrast_matrix(contrast_def=active_minus_rest, design_matrix=design_matrix)

eff_map = fmri_glm.compute_contrast(active_minus_rest, output_type="effect_size")
z_map = fmri_glm.compute_contrast(active_minus_rest, output_type="z_score")
plot_stat_map(
    z_map,
    bg_img=mean_image,
    threshold=3.0,
    display_mode="z",
    cut_coords=3,
    black_bg=True,
    title="Active minus Rest (Z>3)",
)
effect = eff_map.get_fdata()
z = z_map.get_fdata()
print(f"effect size: max {effect.max():.6f}, min {effect.min():.6f}")
print(f"z: max {z.max():.6f}, min {z.min():.6f}")

# thresholds, one-sided as the nistats tutorial
_, threshold = threshold_stats_img(
    z_map, alpha=0.001, height_control="fpr", two_sided=False
)
print(f"Uncorrected p<0.001 threshold: {threshold:.3f}")
_, threshold = threshold_stats_img(
    z_map, alpha=0.05, height_control="bonferroni", two_sided=False
)
print(f"Bonferroni-corrected, p<0.05 threshold: {threshold:.3f}")
_, threshold = threshold_stats_img(
    z_map, alpha=0.05, height_control="fdr", two_sided=False
)
print(f"False Discovery rate = 0.05 threshold: {threshold:.3f}")
clean_map, threshold = threshold_stats_img(
    z_map,
    alpha=0.05,
    height_control="fdr",
    cluster_threshold=10,
    two_sided=False,
)
print(f"voxels above it in clusters > 10 voxels: {int((clean_map.get_fdata() != 0).sum())}")
plot_stat_map(
    clean_map,
    bg_img=mean_image,
    threshold=threshold,
    display_mode="z",
    cut_coords=3,
    black_bg=True,
    title="Active minus Rest (fdr=0.05), clusters > 10 voxels",
)
z_map.to_filename(output_dir / "active_vs_rest_z_map.nii.gz")
eff_map.to_filename(output_dir / "active_vs_rest_eff_map.nii.gz")

table = get_clusters_table(z_map, stat_threshold=threshold, cluster_threshold=20)
print(table)

# nilearn's default: two-sided
thresholded, threshold = threshold_stats_img(z_map, alpha=0.001, height_control="fpr")
print(f"Two-sided p<0.001 threshold: {threshold:.3f}")
print(f"voxels above it, both signs: {int((thresholded.get_fdata() != 0).sum())}")

# the F test of the effects of interest
effects_of_interest = np.vstack((conditions["active"], conditions["rest"]))
plot_contrast_matrix(effects_of_interest, design_matrix)
z_map = fmri_glm.compute_contrast(effects_of_interest, output_type="z_score")
clean_map, threshold = threshold_stats_img(
    z_map,
    alpha=0.05,
    height_control="fdr",
    cluster_threshold=10,
    two_sided=False,
)
z = z_map.get_fdata()
print(f"Effects of interest, fdr=0.05 threshold: {threshold:.3f}")
print(f"F z: max {z.max():.6f}, min {z.min():.6f}")

# an F test on the one-row contrast (nilearn's tutorial does)
z_map = fmri_glm.compute_contrast(active_minus_rest, output_type="z_score", stat_type="F")
z = z_map.get_fdata()
print(f"F z of active - rest: max {z.max():.6f}")
