"""Whose X-Forwarded-For is believed, and which hop is the client (pure parsing)."""

from __future__ import annotations

from services.api.client_origin import forwarded_client, is_trusted
from services.api.settings import parse_networks

PROXIES = parse_networks("127.0.0.1, ::1, 10.0.0.0/8")


def test_the_client_is_the_first_untrusted_hop_from_the_right() -> None:
    # the client claims to be 127.0.0.1; the edge proxy appended the real address
    assert forwarded_client("10.0.0.2", "127.0.0.1, 198.51.100.7, 10.0.0.9", PROXIES) == (
        "198.51.100.7"
    )
    assert forwarded_client("127.0.0.1", "192.0.2.10", PROXIES) == "192.0.2.10"


def test_no_header_or_garbage_leaves_the_peer() -> None:
    assert forwarded_client("127.0.0.1", None, PROXIES) == "127.0.0.1"
    assert forwarded_client("127.0.0.1", "not-an-address", PROXIES) == "127.0.0.1"


def test_a_chain_of_trusted_hops_only_gives_the_first() -> None:
    assert forwarded_client("127.0.0.1", "10.1.1.1, 10.2.2.2", PROXIES) == "10.1.1.1"


def test_names_and_other_addresses_are_not_trusted() -> None:
    assert is_trusted("::1", PROXIES)
    assert is_trusted("10.200.0.1", PROXIES)
    assert not is_trusted("localhost", PROXIES)
    assert not is_trusted("testclient", PROXIES)
    assert not is_trusted("11.0.0.1", PROXIES)
