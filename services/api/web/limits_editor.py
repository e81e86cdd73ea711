"""The limits editor, built over the parsed :class:`~pust.domain.limits.RuleSet` (shown from
its serialisation, ``RuleSet.to_json()``; what is saved is the submitted rule set parsed again
and serialised — never the stored document edited by hand): every rule
collection the triage has (absolute, baseline-relative, change over days, questionnaire
items, scores, combinations — and whatever kind the rule set grows) becomes a group of rows
whose editable fields come from the rule's own model. Nothing here knows a rule kind by
name except for nicer labels, so a new kind shows up in the editor by itself.

Form names: ``r.<collection>.<index>.<field>`` edits a rule, ``r.<collection>.<index>._remove``
removes it, ``n.<collection>.<field>`` adds one (ignored while all its fields are empty).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from pust.db.tables import LimitSet
from pust.domain.limits import RULE_KINDS, InvalidRuleSetError, RuleSet, parse_rule_set
from pust.domain.measurement_types import SPECS, MeasurementType
from pust.domain.questionnaires import QUESTIONNAIRES, AnswerType
from services.api.web.form_errors import FieldErrors, rule_set_errors
from services.api.web.formatting import Formatter, unit_label

# identity of a rule: shown, not edited (a different type is a different rule)
IDENTITY = ("kind", "type", "unit", "questionnaire", "item", "items", "name")
NUMBER_KINDS = (float, int)


@dataclass(frozen=True, slots=True)
class EditorField:
    name: str  # the rule model's field name
    form_name: str
    label_key: str
    kind: Literal["number", "integer", "choice", "bool", "text"]
    value: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, label key)
    required: bool = False
    unit: str = ""


@dataclass(frozen=True, slots=True)
class EditorRule:
    collection: str
    index: int | None  # None: the "add a rule" row
    subject: str
    fields: tuple[EditorField, ...]
    identity: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()  # for new rows
    remove_name: str = ""


@dataclass(frozen=True, slots=True)
class EditorGroup:
    collection: str
    label_key: str
    help_key: str
    rules: tuple[EditorRule, ...]
    new: EditorRule | None


def collections() -> dict[str, type[BaseModel]]:
    """Each rule collection of the stored rule-set document and the model of its rules."""
    return {kind.collection: kind for kind in RULE_KINDS}


def _plain(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``None`` and whether ``None`` is allowed."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    if typing.get_origin(annotation) is Literal:
        return "choice", tuple(
            str(a.value if isinstance(a, Enum) else a) for a in typing.get_args(annotation)
        )
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "choice", tuple(str(m.value) for m in annotation)
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "integer", ()
    if annotation is float:
        return "number", ()
    if annotation is str:
        return "text", ()
    return "", ()


def _shown(value: Any, kind: str, fmt: Formatter) -> str:
    if value is None:
        return ""
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        text = fmt.number(float(value), 2)
        return text.rstrip("0").rstrip(",.") if ("," in text or "." in text) else text
    if kind == "bool":
        return "1" if value else ""
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _fields(
    model: type[BaseModel],
    *,
    prefix: str,
    values: Mapping[str, Any],
    fmt: Formatter,
    unit: str,
    typed: Mapping[str, str],
) -> tuple[EditorField, ...]:
    fields = []
    for name, info in model.model_fields.items():
        if name in IDENTITY:
            continue
        annotation, optional = _plain(info.annotation)
        kind, choices = _kind(annotation)
        if not kind:
            continue
        form_name = f"{prefix}.{name}"
        value = typed.get(form_name, _shown(values.get(name, _default(info)), kind, fmt))
        fields.append(
            EditorField(
                name=name,
                form_name=form_name,
                label_key=f"field_{name}",
                kind=kind,  # type: ignore[arg-type]
                value=value,
                choices=tuple((c, f"choice_{name}_{c}") for c in choices),
                required=info.is_required() and not optional,
                unit=unit if kind == "number" and _in_units(name) else "",
            )
        )
    return tuple(fields)


def _in_units(name: str) -> bool:
    # these fields are in the type's unit (limits, change amounts), not % or days
    return name in ("red_low", "yellow_low", "yellow_high", "red_high", "max_change") or (
        name in ("yellow", "red", "low", "high", "below", "above")
    )


def _default(info: FieldInfo) -> Any:
    return None if info.is_required() else info.default


def _subject(rule: Mapping[str, Any], fmt: Formatter) -> str:
    if "type" in rule:
        return f"{fmt.type_name(str(rule['type']))}"
    if "items" in rule:
        questionnaire = QUESTIONNAIRES.get(str(rule.get("questionnaire")))
        texts = []
        for item in rule["items"]:
            found = questionnaire.item(item) if questionnaire else None
            texts.append(found.text_da if found and fmt.language == "da" else str(item))
        return f"{rule.get('text_da') or rule.get('name')}: " + " + ".join(texts)
    if "item" in rule:
        questionnaire = QUESTIONNAIRES.get(str(rule.get("questionnaire")))
        found = questionnaire.item(str(rule["item"])) if questionnaire else None
        if found is None:
            return str(rule["item"])
        return found.text_en if fmt.language == "en" else found.text_da
    return str(rule.get("name") or "")


def _identity_choices(
    model: type[BaseModel], fmt: Formatter
) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """For an "add" row: the identity fields a person picks (type or questionnaire item)."""
    found = []
    fields = model.model_fields
    if "type" in fields:
        found.append(
            (
                "type",
                "field_type",
                tuple((s.type.value, fmt.type_name(s.type.value)) for s in SPECS.values()),
            )
        )
    if "item" in fields and "questionnaire" in fields:
        wanted = (
            AnswerType.INTEGER if "yellow_points_above_baseline" in fields else AnswerType.BOOLEAN
        )
        items = tuple(
            (f"{q.id}:{i.id}", i.text_en if fmt.language == "en" else i.text_da)
            for q in QUESTIONNAIRES.values()
            for i in q.items
            if i.answer_type is wanted
        )
        found.append(("item", "field_item", items))
    return tuple(found)


def stored_rule_set(current: LimitSet | None) -> RuleSet:
    """The citizen's current rule set, parsed (none stored, or an unreadable version: empty)."""
    return (_parsed(current.rules) if current is not None else None) or RuleSet()


def limits_editor(rules: RuleSet, fmt: Formatter) -> list[EditorGroup]:
    """The editor's groups for a parsed rule set."""
    return _groups(rules.to_json(), fmt, {})


def _groups(
    document: Mapping[str, Any], fmt: Formatter, typed: Mapping[str, str]
) -> list[EditorGroup]:
    """The groups for a rule-set document (one serialised, or one just submitted); ``typed``
    is what the nurse typed, shown again after an error."""
    groups = []
    for collection, model in collections().items():
        rows = []
        for index, rule in enumerate(document.get(collection, []) or []):
            unit = unit_label(str(rule.get("unit", ""))) if "unit" in rule else ""
            if not unit and "type" in rule:
                unit = fmt.unit_of(str(rule["type"]))
            prefix = f"r.{collection}.{index}"
            rows.append(
                EditorRule(
                    collection=collection,
                    index=index,
                    subject=_subject(rule, fmt),
                    fields=_fields(
                        model, prefix=prefix, values=rule, fmt=fmt, unit=unit, typed=typed
                    ),
                    remove_name=f"{prefix}._remove",
                )
            )
        identity = _identity_choices(model, fmt)
        new = (
            EditorRule(
                collection=collection,
                index=None,
                subject="",
                fields=_fields(
                    model, prefix=f"n.{collection}", values={}, fmt=fmt, unit="", typed=typed
                ),
                identity=identity,
            )
            if identity
            else None
        )
        groups.append(
            EditorGroup(
                collection=collection,
                label_key=f"rules_{collection}",
                help_key=f"rules_{collection}_help",
                rules=tuple(rows),
                new=new,
            )
        )
    return groups


@dataclass
class SubmittedLimits:
    document: dict[str, Any]
    typed: dict[str, str]
    errors: FieldErrors = field(default_factory=dict)
    # collection -> index in the document of the rule added from the "n." row
    added: dict[str, int] = field(default_factory=dict)
    # the submitted document parsed (set by validate_limits when it is valid)
    rules: RuleSet | None = None

    def editor(self, fmt: Formatter) -> list[EditorGroup]:
        """The editor again, with what was submitted and typed (after an error)."""
        return _groups(self.document, fmt, self.typed)

    def to_save(self) -> dict[str, Any]:
        """What is saved: the parsed rule set's own serialisation."""
        if self.rules is None:
            raise ValueError("the submitted limits were not validated")
        return self.rules.to_json()


def _number(text: str) -> float:
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    return float(cleaned)


def _convert(
    text: str, info: FieldInfo, form_name: str, errors: FieldErrors, t: Callable[[str], str]
) -> Any:
    annotation, _optional = _plain(info.annotation)
    kind, _choices = _kind(annotation)
    if kind == "bool":
        return bool(text)
    if text.strip() == "":
        return None
    if kind in ("number", "integer"):
        try:
            number = _number(text)
        except ValueError:
            errors[form_name] = t("err_not_a_number")
            return None
        if kind == "integer":
            if number != int(number):
                errors[form_name] = t("err_not_an_integer")
                return None
            return int(number)
        return number
    return text.strip()


def _apply(
    rule: dict[str, Any],
    model: type[BaseModel],
    *,
    prefix: str,
    form: Mapping[str, list[str]],
    typed: dict[str, str],
    errors: FieldErrors,
    t: Callable[[str], str],
    defaults_are_empty: bool = False,
) -> bool:
    """Set the posted fields on ``rule``; True when any field was posted non-empty (with
    ``defaults_are_empty``, a field still holding the default it was shown with is empty:
    the new-rule row is prefilled with defaults)."""
    touched = False
    for name, info in model.model_fields.items():
        if name in IDENTITY:
            continue
        annotation, _optional = _plain(info.annotation)
        kind, _choices = _kind(annotation)
        form_name = f"{prefix}.{name}"
        if kind == "bool":
            rule[name] = bool(form.get(form_name, [""])[0])
            continue
        if form_name not in form:
            continue
        text = form[form_name][0]
        typed[form_name] = text
        value = _convert(text, info, form_name, errors, t)
        as_shown = defaults_are_empty and not info.is_required() and value == info.default
        touched = touched or (text.strip() != "" and not as_shown)
        if value is None and not info.is_required():
            rule.pop(name, None)
        else:
            rule[name] = value
    return touched


def limits_from_form(
    current: RuleSet, form: Mapping[str, list[str]], t: Callable[[str], str]
) -> SubmittedLimits:
    """The current rule set (serialised) with the posted edits, removals and new rule."""
    document = current.to_json()
    submitted = SubmittedLimits(document=document, typed={})
    for collection, model in collections().items():
        rules = [dict(r) for r in document.get(collection, []) or []]
        kept = []
        for index, rule in enumerate(rules):
            prefix = f"r.{collection}.{index}"
            if form.get(f"{prefix}._remove", [""])[0]:
                continue
            _apply(
                rule,
                model,
                prefix=prefix,
                form=form,
                typed=submitted.typed,
                errors=submitted.errors,
                t=t,
            )
            kept.append(rule)
        new: dict[str, Any] = {}
        if _apply(
            new,
            model,
            prefix=f"n.{collection}",
            form=form,
            typed=submitted.typed,
            errors=submitted.errors,
            t=t,
            defaults_are_empty=True,
        ):
            fields = model.model_fields
            kind_default = fields["kind"].default if "kind" in fields else None
            if kind_default is not None:
                new["kind"] = kind_default
            if "type" in fields:
                chosen = (form.get(f"n.{collection}.type") or [""])[0]
                submitted.typed[f"n.{collection}.type"] = chosen
                new["type"] = chosen
                if "unit" in fields and chosen in {m.value for m in MeasurementType}:
                    new["unit"] = SPECS[MeasurementType(chosen)].unit
            if "item" in fields:
                chosen = (form.get(f"n.{collection}.item") or [""])[0]
                submitted.typed[f"n.{collection}.item"] = chosen
                questionnaire, _, item = chosen.partition(":")
                new["questionnaire"], new["item"] = questionnaire, item
            submitted.added[collection] = len(kept)
            kept.append(new)
        document[collection] = kept
    return submitted


def validate_limits(submitted: SubmittedLimits, fmt: Formatter, t: Callable[[str], str]) -> None:
    """Check the submitted document against the domain's rule set; Danish errors per field
    are added to ``submitted.errors`` (nothing is saved while there is one)."""
    if submitted.errors:
        return
    try:
        submitted.rules = RuleSet.model_validate(submitted.document)
    except ValidationError as exc:
        submitted.errors.update(rule_set_errors(exc, added=submitted.added, fmt=fmt, t=t))


@dataclass(frozen=True, slots=True)
class LimitVersionRow:
    version: int
    at: str
    by: str
    reason: str
    changes: tuple[str, ...]


def _describe(rules: RuleSet | None, fmt: Formatter, t: Callable[[str], str]) -> dict[str, str]:
    """Each rule of a parsed rule set in one line, keyed by its identity (to compare
    versions)."""
    lines: dict[str, str] = {}
    for rule in rules.rules if rules is not None else ():
        fields = rule.model_dump(mode="json")
        ident = ":".join(str(fields.get(k, "")) for k in IDENTITY if k in type(rule).model_fields)
        values = ", ".join(
            f"{t('field_' + k)} {_shown(v, 'number', fmt)}"
            for k, v in fields.items()
            if k not in IDENTITY and v is not None and not isinstance(v, bool)
        )
        lines[f"{rule.collection}:{ident}"] = (
            f"{t('rules_' + rule.collection)} · {_subject(fields, fmt)}: {values}"
        )
    return lines


def _parsed(document: Mapping[str, Any] | None) -> RuleSet | None:
    try:
        return parse_rule_set(document or {})
    except InvalidRuleSetError:
        return None  # an unreadable stored version: shown without its rules


def limit_history(
    versions: Sequence[LimitSet],
    authors: Mapping[Any, str],
    fmt: Formatter,
    t: Callable[[str], str],
) -> list[LimitVersionRow]:
    """Newest first: who, when, why, and which rules changed from the version before."""
    rows = []
    previous: dict[str, str] = {}
    for version in sorted(versions, key=lambda v: v.version):
        described = _describe(_parsed(version.rules), fmt, t)
        changes = [line for key, line in described.items() if previous.get(key) != line]
        changes += [
            f"{t('removed')}: {line}" for key, line in previous.items() if key not in described
        ]
        rows.append(
            LimitVersionRow(
                version=version.version,
                at=fmt.datetime(version.created_at),
                by=authors.get(version.created_by, t("system"))
                if version.created_by
                else t("system"),
                reason=version.reason,
                changes=tuple(changes) if previous else (),
            )
        )
        previous = described
    return list(reversed(rows))
