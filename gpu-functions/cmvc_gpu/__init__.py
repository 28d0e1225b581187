"""CMVC Edge GPU functions: one FastAPI app serving the GPU function contract with pluggable engines."""
