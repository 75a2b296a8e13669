function spm12_model(models_file, model_name, data_dir, out_dir)
% SPM12_MODEL  Specify, estimate and contrast one first-level fMRI model with
% SPM12's own batch modules, then record SPM's thresholds and provenance.
%
%   spm12_model(MODELS_FILE, MODEL_NAME, DATA_DIR, OUT_DIR)
%
% MODELS_FILE  JSON file {"models": [...]}; MODEL_NAME picks one entry, e.g.
%   {"name": "block_base", "units": "scans", "RT": 7, "fmri_t": 16,
%    "fmri_t0": 8, "nscan": 96, "hpf": 128, "derivs": [0, 0],
%    "cvi": "AR(1)", "global_normalisation": "None", "mthresh": 0.8,
%    "conditions": [{"name": "active", "onset": [6, 18], "duration": [6],
%                    "tmod": 0, "pmod": [], "orth": 1}],
%    "contrasts": [{"name": "active", "type": "T", "weights": [1, 0]},
%                  {"name": "F", "type": "F", "weights": [[1, 0]]}],
%    "alpha_fwe": 0.05, "alpha_unc": 0.001}
% DATA_DIR   folder with the scans (*.img or *.nii, sorted by name); the first
%            "nscan" are used.
% OUT_DIR    output folder (SPM.mat, mask, beta, ResMS, con, spmT, spmF, ess,
%            RPV and refglm_results.mat with thresholds and provenance).
%
% SPM12 must be on the path; spm('defaults','fmri') is set up here.
% Runs headless (cmdline), saves SPM.mat as -v7 so scipy.io.loadmat reads it.

all_models = jsondecode(fileread(models_file));
models = all_models.models;
if ~iscell(models), models = num2cell(models); end
spec = [];
for i = 1:numel(models)
    if strcmp(models{i}.name, model_name), spec = models{i}; end
end
if isempty(spec), error('Model %s not in %s.', model_name, models_file); end

spm('defaults', 'fmri');
spm_get_defaults('cmdline', true);
spm_get_defaults('mat.format', '-v7');
spm_jobman('initcfg');

if ~exist(out_dir, 'dir'), mkdir(out_dir); end
out_dir = spm_file(out_dir, 'cpath');

%-Scans: the first nscan files of the data folder
%--------------------------------------------------------------------------
f = dir(fullfile(data_dir, '*.img'));
if isempty(f), f = dir(fullfile(data_dir, '*.nii')); end
names = sort({f.name});
if numel(names) < spec.nscan
    error('Only %d scans in %s, %d requested.', numel(names), data_dir, spec.nscan);
end
scans = cell(spec.nscan, 1);
for i = 1:spec.nscan
    scans{i} = [fullfile(data_dir, names{i}) ',1'];
end

%-fMRI model specification
%--------------------------------------------------------------------------
fs = struct();
fs.dir            = {out_dir};
fs.timing.units   = spec.units;
fs.timing.RT      = spec.RT;
fs.timing.fmri_t  = spec.fmri_t;
fs.timing.fmri_t0 = spec.fmri_t0;

conds = spec.conditions;
if ~iscell(conds), conds = num2cell(conds); end
cond = struct('name', {}, 'onset', {}, 'duration', {}, 'tmod', {}, ...
              'pmod', {}, 'orth', {});
for j = 1:numel(conds)
    c = conds{j};
    cond(j).name     = c.name;
    cond(j).onset    = c.onset(:);
    cond(j).duration = c.duration(:);
    cond(j).tmod     = getfield_default(c, 'tmod', 0);
    pm = struct('name', {}, 'param', {}, 'poly', {});
    if isfield(c, 'pmod') && ~isempty(c.pmod)
        p = c.pmod;
        if ~iscell(p), p = num2cell(p); end
        for q = 1:numel(p)
            pm(q).name  = p{q}.name;
            pm(q).param = p{q}.param(:);
            pm(q).poly  = p{q}.poly;
        end
    end
    cond(j).pmod     = pm;
    cond(j).orth     = getfield_default(c, 'orth', 1);
end

fs.sess.scans     = scans;
fs.sess.cond      = cond;
fs.sess.multi     = {''};
fs.sess.regress   = struct('name', {}, 'val', {});
fs.sess.multi_reg = {''};
fs.sess.hpf       = spec.hpf;
fs.fact           = struct('name', {}, 'levels', {});
fs.bases.hrf.derivs = reshape(spec.derivs, 1, []);
fs.volt           = 1;
fs.global         = spec.global_normalisation;
fs.mthresh        = spec.mthresh;
fs.mask           = {''};
fs.cvi            = spec.cvi;

matlabbatch = {};
matlabbatch{1}.spm.stats.fmri_spec = fs;

%-Estimation (classical ReML)
%--------------------------------------------------------------------------
matlabbatch{2}.spm.stats.fmri_est.spmmat          = {fullfile(out_dir, 'SPM.mat')};
matlabbatch{2}.spm.stats.fmri_est.write_residuals = 0;
matlabbatch{2}.spm.stats.fmri_est.method.Classical = 1;

%-Contrasts
%--------------------------------------------------------------------------
cons = spec.contrasts;
if ~iscell(cons), cons = num2cell(cons); end
consess = {};
for i = 1:numel(cons)
    c = cons{i};
    switch upper(c.type)
        case 'T'
            consess{i}.tcon.name    = c.name;
            consess{i}.tcon.weights = reshape(c.weights, 1, []);
            consess{i}.tcon.sessrep = 'none';
        case 'F'
            w = c.weights;
            if iscell(w), w = cell2mat(cellfun(@(x) x(:)', w, 'UniformOutput', false)); end
            consess{i}.fcon.name    = c.name;
            consess{i}.fcon.weights = w;
            consess{i}.fcon.sessrep = 'none';
        otherwise
            error('Unknown contrast type %s.', c.type);
    end
end
matlabbatch{3}.spm.stats.con.spmmat  = {fullfile(out_dir, 'SPM.mat')};
matlabbatch{3}.spm.stats.con.consess = consess;
matlabbatch{3}.spm.stats.con.delete  = 1;

% one job per step, each timed: fmri_est alone is what the speed benchmark compares
% the vectorized spm12 convention with (benchmarks/run.py)
seconds_steps = zeros(1, 3);
for k = 1:3
    t_start = tic;
    spm_jobman('run', matlabbatch(k));
    seconds_steps(k) = toc(t_start);
end
seconds_batch = sum(seconds_steps);

%-Thresholds: SPM's uncorrected (spm_u) and FWE (spm_uc) heights
%--------------------------------------------------------------------------
load(fullfile(out_dir, 'SPM.mat'), 'SPM');
alpha_fwe = getfield_default(spec, 'alpha_fwe', 0.05);
alpha_unc = getfield_default(spec, 'alpha_unc', 0.001);
R = SPM.xVol.R;
S = SPM.xVol.S;
nc = numel(SPM.xCon);
u_unc   = zeros(nc, 1);  % spm_u(alpha_unc, df, STAT)
u_fwe   = zeros(nc, 1);  % spm_uc(alpha_fwe, df, STAT, R, 1, S): min(RFT, Bonferroni)
u_fweRF = zeros(nc, 1);  % spm_uc_RF(alpha_fwe, df, STAT, R, 1): RFT alone
u_bonf  = zeros(nc, 1);  % spm_uc_Bonf(alpha_fwe, df, STAT, S, 1)
df      = zeros(nc, 2);
for i = 1:nc
    STAT    = SPM.xCon(i).STAT;
    df(i,:) = [SPM.xCon(i).eidf SPM.xX.erdf];
    u_unc(i)   = spm_u(alpha_unc, df(i,:), STAT);
    u_fwe(i)   = spm_uc(alpha_fwe, df(i,:), STAT, R, 1, S);
    u_fweRF(i) = spm_uc_RF(alpha_fwe, df(i,:), STAT, R, 1);
    u_bonf(i)  = spm_uc_Bonf(alpha_fwe, df(i,:), STAT, S, 1);
end

res = struct();
res.alpha_fwe = alpha_fwe;
res.alpha_unc = alpha_unc;
res.u_unc     = u_unc;
res.u_fwe     = u_fwe;
res.u_fweRF   = u_fweRF;
res.u_bonf    = u_bonf;
res.df        = df;
res.R         = R;
res.FWHM      = SPM.xVol.FWHM;
res.S         = S;
[v, r]        = spm('Ver');
res.spm_ver   = sprintf('%s (%s)', v, r);
res.octave_ver = OCTAVE_VERSION;
res.seconds_batch = seconds_batch;
res.seconds_fmri_spec = seconds_steps(1);
res.seconds_fmri_est = seconds_steps(2);
res.seconds_con = seconds_steps(3);
res.models_file = models_file;
res.model_name = model_name;
save(fullfile(out_dir, 'refglm_results.mat'), '-v7', '-struct', 'res');
fprintf('refglm: %s done in %.1f s\n', spec.name, seconds_batch);
end

function v = getfield_default(s, f, d)
if isfield(s, f) && ~isempty(s.(f)), v = s.(f); else, v = d; end
end
