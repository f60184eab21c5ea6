"""`python -m benchmarks.bare --port P`: the bare-Bolt floor over HTTP, served exactly as Clinic Bot is
(uvicorn, one worker, the same Starlette adapter running dispatch in as many threads)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from benchmarks.ack import bare_bolt
from bot.settings import Settings
from bot.web import create_web_app


class _Healthy:
    def report(self) -> tuple[int, dict[str, str]]:
        return 200, {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_web_app(
            bare_bolt(os.environ["SLACK_API_URL"]), _Healthy(), threads=Settings.model_fields["request_threads"].default
        ),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
    )  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
