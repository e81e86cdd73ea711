"""All tables. Importing this module registers every table on ``SQLModel.metadata``."""

from pust.db.tables.alerting import ExpectedMeasurement, MissedMeasurementPolicyVersion
from pust.db.tables.alerts import Alert, AlertEvent
from pust.db.tables.audit import AuditEvent
from pust.db.tables.care import CareTeam, CareTeamRouting, StaffMembership, StaffUser
from pust.db.tables.citizens import Citizen, CitizenNote, PausePeriod, RegionalLink
from pust.db.tables.clinical import Baseline, LimitSet, Plan
from pust.db.tables.devices import (
    BrokerReconcileRun,
    Device,
    DeviceAssignment,
    PairingCode,
    Peripheral,
    RegionalDevice,
)
from pust.db.tables.login_throttle import LoginThrottle
from pust.db.tables.messages import (
    BrokerSession,
    DeliveryAttempt,
    InboxMessage,
    OutboxMessage,
    QuarantinedMessage,
)
from pust.db.tables.readings import QuestionnaireResponse, Reading, TriageResult
from pust.db.tables.staff_sessions import StaffSession

__all__ = [
    "Alert",
    "AlertEvent",
    "AuditEvent",
    "Baseline",
    "BrokerReconcileRun",
    "BrokerSession",
    "CareTeam",
    "CareTeamRouting",
    "Citizen",
    "CitizenNote",
    "DeliveryAttempt",
    "Device",
    "DeviceAssignment",
    "ExpectedMeasurement",
    "InboxMessage",
    "LimitSet",
    "LoginThrottle",
    "MissedMeasurementPolicyVersion",
    "OutboxMessage",
    "PairingCode",
    "PausePeriod",
    "Peripheral",
    "Plan",
    "QuarantinedMessage",
    "QuestionnaireResponse",
    "Reading",
    "RegionalDevice",
    "RegionalLink",
    "StaffMembership",
    "StaffSession",
    "StaffUser",
    "TriageResult",
]
