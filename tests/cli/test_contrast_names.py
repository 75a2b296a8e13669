"""Contrast names given to `refglm fit --contrast` name output files: they must fit in one."""

import pytest

from refglm.cli.options import parse_contrast
from refglm.exceptions import InputError
from refglm.io.derivative_names import MAX_CONTRAST_NAME_BYTES


def test_a_name_too_long_for_a_file_name_is_refused_before_the_fit():
    with pytest.raises(InputError) as excinfo:
        parse_contrast("a" * 300 + "=active")
    message = str(excinfo.value)
    assert f"at most {MAX_CONTRAST_NAME_BYTES}" in message and "found 300" in message
    assert "--contrast" in message and "short" in message


def test_a_long_unnamed_expression_is_refused_with_the_same_fix():
    expr = " + ".join(["active"] * 60)
    with pytest.raises(InputError, match="give a short name"):
        parse_contrast(expr)


def test_the_longest_allowed_name_is_kept():
    name = "a" * MAX_CONTRAST_NAME_BYTES
    assert parse_contrast(f"{name}=active") == (name, "active")
