"""OperationOutcome for every failure the facade answers (R4 "OperationOutcome", issue-type).

One issue per field at fault, each with the FHIRPath-ish ``expression`` of the field, so a
client can show the message next to what it sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fhir.resources.R4B.operationoutcome import OperationOutcome

#: issue-type code per HTTP status (R4 "http.html#Status", "issue-type" value set).
ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    422: "business-rule",
}


@dataclass(frozen=True)
class Issue:
    message: str
    expression: str | None = None
    severity: str = "error"


def operation_outcome(status: int, issues: Iterable[Issue]) -> OperationOutcome:
    code = ISSUE_CODE.get(status, "exception" if status >= 500 else "processing")
    listed = list(issues) or [Issue("The request failed.")]
    return OperationOutcome.model_validate(
        {
            "issue": [
                {
                    "severity": issue.severity,
                    "code": code,
                    "diagnostics": issue.message,
                    **({"expression": [issue.expression]} if issue.expression else {}),
                }
                for issue in listed
            ]
        }
    )


def information(message: str) -> OperationOutcome:
    return OperationOutcome.model_validate(
        {"issue": [{"severity": "information", "code": "informational", "diagnostics": message}]}
    )
