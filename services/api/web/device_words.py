"""The tablets' words in Danish and English (enrolment, assignment, pairing, the broker's
state): a part of the UI catalogue, :data:`services.api.web.i18n.CATALOGUE`."""

from __future__ import annotations

DEVICE_WORDS: dict[str, tuple[str, str]] = {
    # (Danish, English)
    "devices": ("Tablets", "Tablets"),
    "enrol_device": ("Registrér tablet", "Enrol tablet"),
    "device_id": ("Tablet-id", "Tablet id"),
    "mqtt_password": ("MQTT-adgangskode (mindst 12 tegn)", "MQTT password (at least 12 chars)"),
    "assign": ("Tildel", "Assign"),
    "unassign": ("Fjern fra borger", "Unassign"),
    "assigned_to": ("Tildelt", "Assigned to"),
    "device_status_active": ("i brug", "in use"),
    "device_status_retired": ("udfaset", "retired"),
    "device_status_revoked": ("spærret", "revoked"),
    "broker_state": ("Broker", "Broker"),
    "broker_state_enabled": ("kan logge på", "may log in"),
    "broker_state_disabled": ("spærret på brokeren", "disabled on the broker"),
    "broker_state_pending": ("afventer brokeren", "waiting for the broker"),
    "broker_state_none": ("styres af pust", "kept by pust"),
    "broker_reconcile": ("Broker og register", "Broker and registry"),
    "broker_reconcile_last": ("Sidste sammenligning", "Last comparison"),
    "broker_reconcile_never": (
        "Ikke sammenlignet endnu (sker hvert 5. minut med Mosquitto).",
        "Not compared yet (every 5 minutes with Mosquitto).",
    ),
    "broker_reconcile_repaired": ("rettet", "repaired"),
    "broker_reconcile_failed": ("Brokeren svarede ikke", "The broker did not answer"),
    "drift_missing": ("manglede", "missing"),
    "drift_role": ("forkert rolle", "wrong role"),
    "drift_client_id": ("forkert klient-id", "wrong client id"),
    "drift_enabled": ("forkert spærring", "wrong enabled state"),
    "drift_unknown": ("ukendte på brokeren", "unknown on the broker"),
    "pairing_code": ("Parringskode", "Pairing code"),
    "pairing_code_create": ("Lav parringskode", "Create pairing code"),
    "pairing_code_help": (
        "Tabletten parres med en engangskode: vælg borgeren, og skriv koden i tablettens "
        "app. Ingen skal skrive en adgangskode på borgerens tablet.",
        "A tablet pairs with a one-time code: choose the citizen and type the code into the "
        "tablet's app. Nobody types a password on the citizen's tablet.",
    ),
    "pairing_code_shown_once": (
        "Koden vises kun denne ene gang og kan bruges én gang.",
        "The code is shown only this once and can be used once.",
    ),
    "pairing_code_valid_until": ("Gælder til", "Valid until"),
    "pairing_code_for": ("Til", "For"),
    "back_to_admin": ("Tilbage til administration", "Back to administration"),
    "revoke": ("Spær tablet", "Revoke tablet"),
    "rotate": ("Ny adgangskode", "New password"),
    "confirm_revoke": ("Spær tabletten", "Revoke the tablet"),
    "confirm_revoke_help": (
        "Tabletten afbrydes med det samme og kan ikke logge på igen. Den skal parres på "
        "ny med en parringskode.",
        "The tablet is disconnected at once and cannot log in again. It must be paired "
        "again with a pairing code.",
    ),
    "confirm_unassign": ("Fjern tabletten fra", "Take the tablet from"),
    "confirm_unassign_help": (
        "Tablettens målinger tilhører ikke længere borgeren fra nu af.",
        "From now on the tablet's readings no longer belong to the citizen.",
    ),
    "device_revoked": ("Tabletten er spærret.", "The tablet is revoked."),
    "device_rotated": (
        "Tabletten har fået en ny adgangskode; den gamle virker ikke længere. Par "
        "tabletten igen med en parringskode.",
        "The tablet has a new password; the old one no longer works. Pair the tablet again "
        "with a pairing code.",
    ),
    "pairing-code-not-accepted": ("Parringskoden blev ikke godtaget", "Pairing code not accepted"),
}
