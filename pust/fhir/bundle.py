"""Searchset bundles with paging links, and OperationOutcomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pust.fhir.time import instant


def searchset(
    *,
    base: str,
    resource_type: str,
    resources: Sequence[dict[str, Any]],
    total: int,
    params: Sequence[tuple[str, str]],
    offset: int,
    count: int,
    now: datetime,
) -> dict[str, Any]:
    """A page of matches. ``params`` are the search parameters without paging; links carry
    them plus ``_count`` and ``_offset`` so a client can walk the pages."""
    path = f"{base}/{resource_type}"

    def link(relation: str, page_offset: int) -> dict[str, str]:
        query = [*params, ("_count", str(count)), ("_offset", str(page_offset))]
        return {"relation": relation, "url": f"{path}?{urlencode(query)}"}

    links = [link("self", offset)]
    # _count=0 asks for the total only: no page to go to (a next link to itself would loop)
    if count > 0 and offset + count < total:
        links.append(link("next", offset + count))
    if count > 0 and offset > 0:
        # past the end, previous is the last page that has matches, never beyond it
        last_page = ((total - 1) // count) * count if total else 0
        links.append(link("previous", max(0, min(offset - count, last_page))))
    return {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": instant(now)},
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


# OperationOutcome issue codes (http://hl7.org/fhir/issue-type)
ISSUE_FOR_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    410: "deleted",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


def operation_outcome(status: int, diagnostics: str, *, code: str | None = None) -> dict[str, Any]:
    """Diagnostics must never carry a CPR number, a name or a measured value."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status >= 400 else "information",
                "code": code or ISSUE_FOR_STATUS.get(status, "exception"),
                "diagnostics": diagnostics,
            }
        ],
    }
