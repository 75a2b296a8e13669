# sklearn.externals.joblib shim for nistats 0.0.1rc0 / nilearn 0.6.2 on scikit-learn >= 0.23
# (scikit-learn removed its vendored joblib in 0.23). Written by build_env.sh.
from joblib import *  # noqa: F401,F403
from joblib import __version__  # noqa: F401
