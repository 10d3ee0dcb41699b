"""A held-out deployment of the organization & billing API and the measure of the contract suite on it.

``app.py`` is a second, independent deployment of the two operations, written from the
reference pages and ``openapi.yaml`` alone, with faults and correct variants as switches;
``measure.py`` runs the contract suite against each of them (``make heldout``).
"""
