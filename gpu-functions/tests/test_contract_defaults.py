"""Defaults come from the exported schema only: an engine called directly (not through the app,
which fills them too) uses the same option values as the Worker."""

from __future__ import annotations

from cmvc_gpu import contract
from cmvc_gpu.engines.model import media


def schema_option_defaults() -> dict:
    options = contract.validator("encode.request").schema["properties"]["options"]["properties"]
    return {name: prop["default"] for name, prop in options.items() if "default" in prop}


def test_model_engine_encode_options_are_the_schema_defaults() -> None:
    assert media.encode_options({}) == schema_option_defaults()
    assert media.encode_options({"options": None})["keyframeBudgetBytes"] == schema_option_defaults()["keyframeBudgetBytes"]


def test_a_given_option_wins_over_its_default() -> None:
    options = media.encode_options({"options": {"keyframeBudgetBytes": 4096}})
    assert options["keyframeBudgetBytes"] == 4096
    assert options["maxTextChars"] == schema_option_defaults()["maxTextChars"]


def test_the_largest_keyframe_read_is_the_contracts() -> None:
    """``MAX_KEYFRAME_BYTES`` is stated in the TypeScript contract; the Python side keeps a copy for the
    inline case the schema does not bound, so the two must agree."""
    import json

    from cmvc_gpu.media.sources import MAX_KEYFRAME_BYTES

    def maxima(node):
        if isinstance(node, dict):
            source = node.get("properties", {}).get("source")
            if source is not None:
                yield source["properties"]["length"]["maximum"]
            for value in node.values():
                yield from maxima(value)
        elif isinstance(node, list):
            for value in node:
                yield from maxima(value)

    schema = json.loads((contract.schemas_dir() / "generate.request.json").read_text())
    assert set(maxima(schema)) == {MAX_KEYFRAME_BYTES}
