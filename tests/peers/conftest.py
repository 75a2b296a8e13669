"""The live nistats 0.0.1rc0 peer: its side environment, run once per setting per session.

nistats runs in the side environment of ``make peers`` (``validation/peers/nistats``).
Off CI its tests skip when that environment is missing; with ``REFGLM_REQUIRE_PEERS=1``
or ``CI`` set (``.ci/run``) they fail instead, with the message saying how to build it,
so that a CI run without the environment cannot pass by skipping the acceptance.

Each setting of ``validation.peers.nistats.peer.SETTINGS`` is compared once per session
(one nistats subprocess, one refglm fit, the accounting of ``refglm compare --explain``)
and only the measured numbers are kept; the table of them is printed at the end of the
run (``pytest_terminal_summary``).
"""

from __future__ import annotations

import os

import pytest

from validation.peers.nistats import peer

#: setting -> peer.compare_setting(...) of this session (printed at the end).
NISTATS_RESULTS: dict[str, dict] = {}


def peers_required() -> bool:
    """True under CI (``REFGLM_REQUIRE_PEERS`` or ``CI`` set): a missing peer fails."""
    flags = (os.environ.get("REFGLM_REQUIRE_PEERS", ""), os.environ.get("CI", ""))
    return any(flag.strip().lower() not in ("", "0", "false", "no") for flag in flags)


class NistatsPeer:
    """The side environment, the real data, and the per-setting comparisons of a session."""

    def __init__(self, python, versions, data, workdir):
        self.python = python
        self.versions = versions
        self.data = data
        self.workdir = workdir
        self.tutorial_maps = workdir / "tutorial_maps"
        self.run = None

    def result(self, name: str) -> dict:
        """``peer.compare_setting(name)``, run on first request."""
        if name not in NISTATS_RESULTS:
            extra = {}
            if name == "tutorial":  # its maps for `refglm compare`, and rc0's thresholds
                extra = dict(nifti_dir=self.tutorial_maps, thresholds=peer.THRESHOLD_CASES)
            if self.run is None:  # the volumes, loaded once for every setting
                self.run = peer.load_run(self.data.func)
            NISTATS_RESULTS[name] = peer.compare_setting(
                name,
                self.python,
                self.data.func,
                self.data.events,
                self.workdir,
                run=self.run,
                **extra,
            )
            if set(NISTATS_RESULTS) >= set(peer.SETTINGS):
                self.run = None  # 100 MB: not kept for the rest of the suite
        return NISTATS_RESULTS[name]


@pytest.fixture(scope="session")
def nistats_peer(spm_auditory, tmp_path_factory):
    python = peer.nistats_python()
    if python is None:
        if peers_required():
            pytest.fail(peer.MISSING, pytrace=False)
        pytest.skip(peer.MISSING)
    return NistatsPeer(
        python, peer.side_versions(python), spm_auditory, tmp_path_factory.mktemp("nistats")
    )


def pytest_terminal_summary(terminalreporter):
    if NISTATS_RESULTS:
        terminalreporter.section("nistats 0.0.1rc0 against refglm convention='nistats'")
        results = [NISTATS_RESULTS[n] for n in peer.SETTINGS if n in NISTATS_RESULTS]
        terminalreporter.write(peer.table(results))
