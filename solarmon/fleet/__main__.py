"""`python -m solarmon.fleet`: the site side of a fleet (docs/FLEET.md). manage_web.sh wraps it.

    python -m solarmon.fleet setup [--settings fleet-site.yaml] [--root DIR] [--create-token]
    python -m solarmon.fleet render agent|unit|bridge [--settings fleet-site.yaml] [--direct]

`setup` checks and writes the agent's config, its unit and the Mosquitto bridge (exit 2 naming
file, key and what is allowed on a bad setting or secret file); `render` prints one of them
(`--direct`: the agent reads the secret files where they are, not through systemd's credentials;
`bridge` prints the password as `<bridge.password_file>`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from solarmon.confighelper import ConfigError
from solarmon.fleet.agent import CREDENTIALS_DIR, render_agent_config, render_unit
from solarmon.fleet.bridge import render_bridge_config
from solarmon.fleet.setup import read_settings, run_setup

CHECKOUT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m solarmon.fleet", description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="action", required=True)
    setup = actions.add_parser("setup", help="check the settings and write the agent, its unit, the bridge")
    render = actions.add_parser("render", help="print the agent's config, its unit or the bridge")
    render.add_argument("what", choices=("agent", "unit", "bridge"))
    render.add_argument("--direct", action="store_true",
                        help="agent: read secrets where the settings name them")
    for sub in (setup, render):
        sub.add_argument("--settings", type=Path, default=CHECKOUT / "fleet-site.yaml",
                         help="the site's fleet settings (fleet-site.yaml.example)")
    setup.add_argument("--root", default="", help="stage the files under this folder (no systemctl)")
    setup.add_argument("--checkout", type=Path, default=CHECKOUT, help="the solarmon checkout")
    setup.add_argument("--web-yaml", type=Path, default=CHECKOUT / "web.yaml", help="the site's web.yaml")
    setup.add_argument("--create-token", action="store_true",
                       help="create the scrape token (web_interface.py token add) when "
                       "scrape.token_file is missing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one action; 0 done, 2 a bad setting or secret file (one line on stderr)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        settings = read_settings(args.settings)
        if args.action == "render":
            if args.what == "agent":
                print(render_agent_config(settings, None if args.direct else CREDENTIALS_DIR), end="")
            elif args.what == "unit":
                print(render_unit(settings), end="")
            else:
                print(render_bridge_config(settings, "<bridge.password_file>"), end="")
            return 0
        result = run_setup(settings, root=Path(args.root), checkout=args.checkout, web_yaml=args.web_yaml,
                           create_token=args.create_token)
    except ConfigError as exc:
        print(f"fleet-setup: {exc}", file=sys.stderr)
        return 2
    if result.token_created:
        print(f"created the scrape token fleet-agent-{settings.site} in {settings.scrape.token_file}")
    for path in result.written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
