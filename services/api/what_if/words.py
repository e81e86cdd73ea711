"""The what-if page's words (Danish first, English second)."""

from __future__ import annotations

WHAT_IF_WORDS: dict[str, tuple[str, str]] = {
    "what_if": ("Hvad nu hvis", "What if"),
    "what_if_help": (
        "Afspil teamets egne målinger og spørgeskemaer fra en periode med de grænser, der "
        "gælder nu, og med et forslag. Intet gemmes; opslaget logges.",
        "Replay the team's own readings and questionnaires from a period under the limits in "
        "force and under a proposal. Nothing is saved; the look-up is logged.",
    ),
    "what_if_team": ("Team", "Team"),
    "what_if_period": ("Periode", "Period"),
    "what_if_days": ("sidste {n} dage", "last {n} days"),
    "what_if_rules": ("Foreslåede grænser (JSON)", "Proposed limits (JSON)"),
    "what_if_rules_hint": (
        "Indsæt regelsættet, som grænseeditoren gemmer det, eller vælg en fil. Feltet er "
        "udfyldt med teamets nuværende grænser.",
        "Paste the rule set as the limits editor stores it, or choose a file. The field holds "
        "the team's current limits.",
    ),
    "what_if_file": ("… eller upload en fil", "… or upload a file"),
    "what_if_run": ("Sammenlign", "Compare"),
    "what_if_result": ("Sammenligning", "Comparison"),
    "what_if_in_force": ("Gældende grænser", "Limits in force"),
    "what_if_proposed": ("Forslaget", "Proposal"),
    "what_if_tasks": ("Opgaver pr. borger pr. uge", "Tasks per citizen-week"),
    "what_if_reading_alerts": (
        "heraf målinger og spørgeskemaer",
        "of which readings and questionnaires",
    ),
    "what_if_citizens": ("{n} borgere, {d} dage", "{n} citizens, {d} days"),
    "what_if_changed": ("Borgere hvis alarmer ændres", "Citizens whose alarms change"),
    "what_if_citizen": ("Borger", "Citizen"),
    "what_if_appear": ("Nye alarmer", "Alarms that appear"),
    "what_if_disappear": ("Bortfaldne alarmer", "Alarms that disappear"),
    "what_if_rules_hit": ("Regler", "Rules"),
    "what_if_no_change": (
        "Ingen borgers alarmer kommer eller forsvinder.",
        "No citizen's alarms appear or disappear.",
    ),
    "what_if_personal": (
        "{n} borger(e) har egne grænser og beholder dem med forslaget.",
        "{n} citizen(s) have limits of their own and keep them under the proposal.",
    ),
    "what_if_note": (
        "Manglende målinger afhænger ikke af grænserne (ens i begge kolonner). Tavse tablets "
        "afspilles ikke.",
        "Missed measurements do not depend on limits (the same in both columns). Silent "
        "tablets are not replayed.",
    ),
    "what_if_invalid": ("Forslaget kan ikke bruges", "The proposal cannot be used"),
    "audit_evaluation_what_if_read": ("Hvad-nu-hvis-sammenligning", "What-if comparison"),
}
