"""Generic parity tests driven by the registry in ``tests/cases``."""
import pytest

from cases import ERROR_CASES, FUNCTION_CASES, MODULE_CASES
from harness import case_id, run_error_case, run_function_case, run_module_case


@pytest.mark.parametrize("case", MODULE_CASES, ids=case_id)
def test_module_parity(case):
    run_module_case(case)


@pytest.mark.parametrize("case", FUNCTION_CASES, ids=case_id)
def test_function_parity(case):
    run_function_case(case)


@pytest.mark.parametrize("case", ERROR_CASES, ids=case_id)
def test_bad_input(case):
    run_error_case(case)
