"""Test data the tests own (copied from the shared contract; see README.md)."""

from pathlib import Path

DATA = Path(__file__).resolve().parent
CONTRACT_EXAMPLES = DATA / "contract" / "examples"
