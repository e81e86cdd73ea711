from pust.domain.abnormal_first import reading_is_abnormal, response_is_abnormal
from pust.domain.limits import default_rule_set


def test_any_absolute_breach_of_the_citizens_rules_is_abnormal() -> None:
    rules = default_rule_set()
    assert reading_is_abnormal(rules, "spo2", 80)  # red
    assert reading_is_abnormal(rules, "spo2", 89)  # yellow
    assert not reading_is_abnormal(rules, "spo2", 96)
    assert not reading_is_abnormal(rules, "weight", 80)  # no absolute limit for it


def test_any_yes_answer_is_abnormal() -> None:
    assert response_is_abnormal([("more_cough", False), ("more_breathless", True)])
    assert not response_is_abnormal([("more_cough", False), ("cat_score", 12)])
