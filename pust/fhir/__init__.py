"""FHIR R4: pure mapping from pust rows and domain values to FHIR JSON dicts.

Nothing here does I/O. The read API (``services/api/fhir``) and the push bridge
(``services/bridge``) both build their resources through these modules, so what an integrator
reads and what the regional backend receives are the same resources.
"""
