"""The forecast on MQTT: one document split into messages that fit the broker's 4 KiB limit.

The fetcher builds one document (hours as a list of {start_ts, power_w: {array: W}, total_w,
gti_w_m2, temp_c}); on the wire it becomes, all retained:
- `forecast/<array>/hourly`: {"generated_ts", "start_ts", "step_s", "power_w": [W per hour]}
  (whole watts, ~400 bytes for three days);
- `forecast/hourly`, published last: the index {"generated_ts", "location", "pv_max_w",
  "arrays": [...], "start_ts", "step_s", "hours", "temp_c": [...], "attribution"}.
The web app joins them back (`join`) once the index and every array's part carry the same
`generated_ts`. Plain Python: both processes import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

INDEX_TOPIC = "forecast/hourly"
PART_SUFFIX = "/hourly"
STEP_S = 3600


def part_topic(array: str) -> str:
    """The topic of one array's hourly power."""
    return f"forecast/{array}{PART_SUFFIX}"


def split(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(topic, JSON payload) for every array's part, then the index."""
    hours = doc["hours"]
    start = int(hours[0]["start_ts"]) if hours else 0
    made = doc["generated_ts"]
    out = []
    for array in doc["arrays"]:
        name = array["name"]
        power = [round(h["power_w"][name]) for h in hours]
        out.append((part_topic(name), _dumps({"generated_ts": made, "start_ts": start, "step_s": STEP_S,
                                               "power_w": power})))
    index = {key: doc[key] for key in ("generated_ts", "location", "pv_max_w", "arrays", "attribution")
             if key in doc}
    index.update({"start_ts": start, "step_s": STEP_S, "hours": len(hours),
                  "temp_c": [h.get("temp_c") for h in hours]})
    out.append((INDEX_TOPIC, _dumps(index)))
    return out


def join(index: Mapping[str, Any], parts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The document again, or None while a part is missing or from another forecast run.
    ValueError when the messages do not have the shape `split` gives them."""
    try:
        made, start, count = index["generated_ts"], int(index["start_ts"]), int(index["hours"])
        step, names = int(index.get("step_s", STEP_S)), [str(a["name"]) for a in index["arrays"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"forecast index lacks {exc}") from exc
    power: dict[str, list[Any]] = {}
    for name in names:
        part = parts.get(name)
        if part is None or part.get("generated_ts") != made:
            return None
        values = part.get("power_w")
        if not isinstance(values, list) or len(values) != count or int(part.get("start_ts", -1)) != start:
            raise ValueError(f"forecast/{name}/hourly does not match the index")
        power[name] = values
    temps = index.get("temp_c") or [None] * count
    hours = []
    for i in range(count):
        watts = {name: power[name][i] for name in names}
        hours.append({"start_ts": start + i * step, "power_w": watts,
                      "total_w": sum(v for v in watts.values() if isinstance(v, int | float)),
                      "temp_c": temps[i] if i < len(temps) else None})
    return {**{k: v for k, v in index.items() if k not in ("start_ts", "step_s", "hours", "temp_c")},
            "hours": hours}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
