"""The property-based contract suite, generated from openapi.yaml."""
