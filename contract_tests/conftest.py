"""Loads the suite's pytest hooks and fixtures; the target comes from one place (``target``)."""

from contract_tests.plugin import (  # noqa: F401
    accounts,
    contract_settings,
    oracle,
    progress,
    pytest_addoption,
    pytest_cmdline_main,
    pytest_collection,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_exception_interact,
    pytest_report_header,
    pytest_runtest_call,
    pytest_runtest_makereport,
    pytest_runtestloop,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
    pytest_testnodedown,
    recorder,
    target,
)
