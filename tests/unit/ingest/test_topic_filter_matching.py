"""The adapter's fast topic filter matching agrees with paho's reference implementation."""

import paho.mqtt.client as paho
from hypothesis import given
from hypothesis import strategies as st

from pust.messaging.mqtt_client import _filter_matches

LEVELS = st.sampled_from(["a", "b", "devices", "measurements", ""])
TOPICS = st.lists(LEVELS, min_size=1, max_size=5).map("/".join)
FILTERS = st.lists(st.one_of(LEVELS, st.just("+")), min_size=1, max_size=5).flatmap(
    lambda levels: st.sampled_from(["/".join(levels), "/".join([*levels, "#"])])
)


@given(FILTERS, TOPICS)
def test_agrees_with_paho(topic_filter: str, topic: str) -> None:
    expected = paho.topic_matches_sub(topic_filter, topic)
    assert _filter_matches(topic_filter.split("/"), topic.split("/")) is expected
