"""The settings a DTMS run used, as its run report gives them (the sweep's "as
configured" row shows them): every key, defaults included, and no secret of a URL."""

from __future__ import annotations

import json

from dtms_plugin.settings import in_force, load_settings


def test_every_key_with_its_default_and_the_urls_masked() -> None:
    settings = load_settings(
        {
            "store": "redis://:s3cret@127.0.0.1:6379/0",
            "api_url": "http://bot:pa55@127.0.0.1:8765",
            "thresholds": {"to_l2": -4.5},
        }
    )
    said = in_force(settings)
    assert said["thresholds.to_l1"] == -2.0 and said["thresholds.to_l2"] == -4.5
    assert said["weights.structure"] == 3.0 and said["adaptive.range.structure"] == 0.7
    text = json.dumps(said)
    assert "s3cret" not in text and "pa55" not in text
    assert said["store"].startswith("redis://") and "127.0.0.1:6379" in said["store"]


def test_a_store_without_a_scheme_is_said_as_it_is() -> None:
    assert in_force(load_settings({}))["store"] == load_settings({}).store
