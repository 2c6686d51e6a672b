"""A PI18 unit (InfiniSolar V family): ``--protocol pi18``, over the same plant model as PI30.

The hardware and physics are a profile's; only the firmware differs (PROTOCOLS-PI18.md): requests
are ``^P005GS`` / ``^S007POP0`` frames, replies ``^D...`` with comma-separated tenths, ``^1`` /
``^0`` for settings. Settings are checked with the codec's PI18 rules (the one source of truth)
and stored in the model's PI30 settings (PI18's output and charger priority codes translated), so
the physics reacts the same way.
"""

from __future__ import annotations

from solarmon.inverter.errors import SettingRejected
from solarmon.inverter.frame import FrameError
from solarmon.inverter.pi18 import frame as pi18_frame
from solarmon.inverter.pi18.codec import decode as pi18_decode
from solarmon.inverter.pi18.policy import is_setter as pi18_is_setter
from solarmon.inverter.pi18.policy import validate_setting
from solarmon.inverter.readings import Reading
from solarmon.simulator import model as plant
from solarmon.simulator import replies
from solarmon.simulator.inverter import ACK, NAK, Answer, Inverter
from solarmon.simulator.replies import Reply

# Model mode letter -> MOD code (05 is line / "hybrid" mode).
MOD_CODES = {"P": "00", "S": "01", "D": "01", "H": "01", "Y": "02", "B": "03", "F": "04", "L": "05"}
# PI18 code -> the model's PI30 code, and back.
OUTPUT_PRIORITY_TO_PI30 = {0: 1, 1: 2}  # Solar-Utility-Battery ~ solar first; Solar-Battery-Utility ~ SBU
CHARGER_PRIORITY_TO_PI30 = {0: 1, 1: 2, 2: 3}
FAULT_CODES = {"inverter": "51", "overload": "07", "overtemp": "02", "battery_open": "56"}
FIRMWARE = "05220"


def _tenths(value: float) -> str:
    return f"{round(value * 10):04d}"


def _inverse(mapping: dict[int, int], value: int, default: int) -> int:
    return next((k for k, v in mapping.items() if v == value), default)


class Pi18Inverter(Inverter):
    """A PI18 unit: :class:`Inverter`'s model and clock, PI18 framing and replies."""

    protocol = "pi18"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.solar_power_priority = 0
        self.grid_tie = False
        self.serial = self.serial[:14].rjust(14, "0")

    # --- framing ----------------------------------------------------------------------------

    def parse(self, request: bytes) -> str | None:
        """The command of a ``^P``/``^S`` frame whose length and CRC check out (None otherwise)."""
        parsed = pi18_frame.command_of(request)
        return None if parsed is None else parsed[0]

    def encode(self, payload: str) -> bytes:
        """``^D`` + length + payload + CRC + CR; ACK / NAK become ``^1`` / ``^0``."""
        if payload in ("ACK", "NAK"):
            return pi18_frame.encode_ack(payload == "ACK")
        return pi18_frame.encode_reply(payload)

    def frame_ok(self, raw: bytes) -> bool:
        """Whether a strict PI18 client accepts ``raw``."""
        try:
            pi18_frame.decode_reply(raw)
        except FrameError:
            return False
        return True

    def is_setting(self, command: str) -> bool:
        """True for a well-formed PI18 setting command."""
        return pi18_is_setter(command)

    def respond(self, command: str) -> Answer:
        """Answer ``command`` (no framing)."""
        with self.lock:
            self.model.advance_to(self.clock.now())
            if pi18_is_setter(command):
                return self._set(command)
            reply = self._query(command)
            if reply is None:
                return Answer(command, NAK, f"unknown command {command!r}")
            return Answer(command, reply)

    # --- queries ----------------------------------------------------------------------------

    def _query(self, command: str) -> Reply | None:
        model, profile = self.model, self.profile
        if command == "GS":
            return self._gs()
        if command == "PIRI":
            reply = self._piri()
            model.config_changed = False
            return reply
        if command == "MOD":
            return Reply(MOD_CODES.get(model.mode, "01"), {"working_mode": model.mode})
        if command == "FWS":
            return self._fws()
        if command == "FLAG":
            flags = model.settings.flags
            order = ("a", "b", "k", "u", "v", "x", "y", "z")
            bits = ",".join("1" if flags.get(letter, False) else "0" for letter in order)
            return Reply(bits + ",0", {"flags": bits})
        if command == "PI":
            return Reply("18", {"protocol_version": "18"})
        if command == "ID":
            return Reply(f"{len(self.serial):02d}{self.serial}000000", {"serial_number": self.serial})
        if command == "VFW":
            return Reply(f"{FIRMWARE},00000,00000", {"main_cpu_version": FIRMWARE})
        if command in ("MCHGCR", "MUCHGCR"):
            amps = profile.charge_currents if command == "MCHGCR" else profile.utility_charge_currents
            return Reply(",".join(f"{a:03d}" for a in amps), {"currents": list(amps)})
        if command == "ET" or (command[:2] in ("EY", "EM", "ED") and command[2:].isdigit()):
            inner = replies.energy(model, "Q" + command)
            return None if inner is None else Reply(inner.payload, inner.values)
        return None

    def _gs(self) -> Reply:
        live, model = self.model.live_values(), self.model
        charging = float(live["battery_charging_current"])
        discharging = float(live["battery_discharge_current"])
        battery_dir = 1 if charging > 0.5 else 2 if discharging > 0.5 else 0
        dc_ac = 2 if model.mode == "B" else 1 if live["is_ac_charging_on"] else 0
        line = 1 if model.mode == "L" and float(live["ac_input_voltage"]) > 90 else 0
        pv_w = float(live["pv_input_power"])
        mppt1 = 2 if live["is_scc_charging_on"] else 1
        mppt2 = 2 if float(live["pv2_charging_power"]) > 0 else 1
        heat_sink = round(float(live["inverter_heat_sink_temperature"]))
        fields = [
            ("grid_voltage", _tenths(float(live["ac_input_voltage"]))),
            ("grid_frequency", f"{round(float(live['ac_input_frequency']) * 10):03d}"),
            ("ac_output_voltage", _tenths(float(live["ac_output_voltage"]))),
            ("ac_output_frequency", f"{round(float(live['ac_output_frequency']) * 10):03d}"),
            ("ac_output_apparent_power", f"{round(float(live['ac_output_apparent_power'])):04d}"),
            ("ac_output_active_power", f"{round(float(live['ac_output_active_power'])):04d}"),
            ("output_load_percent", f"{round(float(live['ac_output_load'])):03d}"),
            ("battery_voltage", f"{round(float(live['battery_voltage']) * 10):03d}"),
            ("battery_voltage_from_scc", f"{round(float(live['battery_voltage_from_scc']) * 10):03d}"),
            ("battery_voltage_from_scc2", "000"),
            ("battery_discharge_current", f"{round(discharging):03d}"),
            ("battery_charging_current", f"{round(charging):03d}"),
            ("battery_capacity", f"{round(float(live['battery_capacity'])):03d}"),
            ("inverter_heat_sink_temperature", f"{heat_sink:03d}"),
            ("mppt1_charger_temperature", f"{max(0, heat_sink - 3):03d}"),
            ("mppt2_charger_temperature", "000"),
            ("pv1_input_power", f"{round(pv_w):04d}"),
            ("pv2_input_power", f"{round(float(live['pv2_charging_power'])):04d}"),
            ("pv1_input_voltage", _tenths(float(live["pv_input_voltage"]))),
            ("pv2_input_voltage", _tenths(float(live["pv2_input_voltage"]))),
            ("setting_value_configuration_state", "1" if model.config_changed else "0"),
            ("mppt1_charger_status", str(mppt1)),
            ("mppt2_charger_status", str(mppt2)),
            ("load_connection", "1" if live["is_load_on"] else "0"),
            ("battery_power_direction", str(battery_dir)),
            ("dc_ac_power_direction", str(dc_ac)),
            ("line_power_direction", str(line)),
            ("local_parallel_id", "0"),
        ]
        return Reply(",".join(text for _n, text in fields), {n: t for n, t in fields})

    def _piri(self) -> Reply:
        p, s = self.profile, self.model.settings
        output_priority = _inverse(OUTPUT_PRIORITY_TO_PI30, s.output_priority, 1)
        charger_priority = _inverse(CHARGER_PRIORITY_TO_PI30, s.charger_priority, 0)
        fields = [
            _tenths(230.0), _tenths(p.rated_output_a), _tenths(s.output_voltage),
            _tenths(float(s.output_frequency)), _tenths(p.rated_output_a), str(p.rated_va), str(p.rated_w),
            f"{p.battery_class_v * 10:03d}", f"{round(s.recharge_v * 10):03d}",
            f"{round(s.redischarge_v * 10):03d}", f"{round(s.cutoff_v * 10):03d}",
            f"{round(s.bulk_v * 10):03d}", f"{round(s.float_v * 10):03d}", str(min(s.battery_type, 9)),
            f"{s.max_ac_charge_a:02d}", f"{s.max_charge_a:03d}", str(s.input_range), str(output_priority),
            str(charger_priority), "9", "1" if self.grid_tie else "0", "0", str(min(s.output_mode, 4)),
            str(self.solar_power_priority), "2" if p.pv2_peak_w else "1", "00",
        ]
        return Reply(",".join(fields), {"fields": fields})

    def _fws(self) -> Reply:
        model = self.model
        code = FAULT_CODES.get(model.fault or "", "00") if model.fault else "00"
        warnings = model.warnings
        flags = [
            plant.W_LINE_FAIL in warnings, False, plant.W_OVER_TEMPERATURE in warnings, False, False,
            plant.W_BATTERY_LOW in warnings, plant.W_BATTERY_UNDER_SHUTDOWN in warnings,
            plant.W_OVERLOAD in warnings, False, False, False, False, False, False, False, False,
        ]
        payload = code + "," + ",".join("1" if f else "0" for f in flags)
        return Reply(payload, {"fault_code": code})

    # --- settings ---------------------------------------------------------------------------

    def ratings(self) -> Reading:
        """PIRI as the codec reads it (what a host passes to the setting rules)."""
        return pi18_decode("PIRI", pi18_frame.decode_reply(pi18_frame.encode_reply(self._piri().payload)))

    def _set(self, command: str) -> Answer:
        currents = {"max_charging_current_options": self.profile.charge_currents,
                    "max_utility_charging_current_options": self.profile.utility_charge_currents}
        try:
            command = validate_setting(command, self.ratings().as_dict(), currents)
        except SettingRejected as exc:
            return Answer(command, NAK, str(exc))
        s = self.model.settings
        numbers = [int(n) for n in "".join(c if c.isdigit() else " " for c in command).split()]
        if command.startswith("POP"):
            s.output_priority = OUTPUT_PRIORITY_TO_PI30[numbers[0]]
        elif command.startswith("PSP"):
            self.solar_power_priority = numbers[0]
        elif command in ("PEI", "PDI"):
            self.grid_tie = command == "PEI"
        elif command.startswith("PCP"):
            s.charger_priority = CHARGER_PRIORITY_TO_PI30[numbers[1]]
        elif command.startswith("MUCHGC"):
            s.max_ac_charge_a = numbers[1]
        elif command.startswith("MCHGC"):
            s.max_charge_a = numbers[1]
        elif command.startswith("PBT"):
            s.battery_type = numbers[0]
        elif command.startswith("MCHGV"):
            s.bulk_v, s.float_v = numbers[0] / 10, numbers[1] / 10
        elif command.startswith("PSDV"):
            s.cutoff_v = numbers[0] / 10
        elif command.startswith("BUCD"):
            s.recharge_v = numbers[0] / 10
            if numbers[1]:
                s.redischarge_v = numbers[1] / 10
        self.model.config_changed = True
        self.model.advance(0.0)
        return Answer(command, ACK)
