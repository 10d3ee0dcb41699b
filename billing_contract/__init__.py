"""What the mock and the contract suite both need, below both: it imports neither.

``mock_server`` and ``contract_tests`` take what they share from here: the
readers of untrusted input both use, and the contract's checks that judge one
answer.
"""

__version__ = "0.1.0"
"""The version of org-billing-mock (pyproject.toml's), which both commands say with --version."""
