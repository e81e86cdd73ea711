"""The FHIR R4 read API under ``/fhir/r4`` (see :func:`build_fhir_router`)."""

from services.api.fhir.router import build_fhir_router

__all__ = ["build_fhir_router"]
