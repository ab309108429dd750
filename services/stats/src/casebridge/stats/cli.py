"""`casebridge-stats`: the stats service's command line.

    casebridge-stats rebuild [--yes] [--allow-partial]

wipes the read models and replays the INTAKE, REVIEW and SHARING streams from the start,
with a progress bar per stream. Reads STATS_DATABASE_URL and STATS_NATS_URL like the
service."""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from casebridge.stats.rebuild import HistoryLost, rebuild
from casebridge.stats.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casebridge-stats", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser(
        "rebuild", help="wipe the read models and replay the streams from the start"
    )
    command.add_argument("--yes", action="store_true", help="do not ask before wiping")
    command.add_argument(
        "--allow-partial",
        action="store_true",
        help="go on when a stream no longer holds its first messages (their counts are lost)",
    )
    return parser


async def _rebuild(settings: Settings, console: Console, allow_partial: bool) -> int:
    columns = (
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, object] = {}

        def started(stream: str, total: int) -> None:
            tasks[stream] = progress.add_task(stream, total=total)

        def advanced(stream: str, done: int) -> None:
            progress.advance(tasks[stream], done)  # type: ignore[arg-type]

        try:
            replayed = await rebuild(
                settings, allow_partial=allow_partial, started=started, advanced=advanced
            )
        except HistoryLost as exc:
            console.print(f"[red]refused:[/red] {exc}")
            return 2
    total = sum(r.messages for r in replayed)
    console.print(
        f"rebuilt from {total:,} messages: "
        + ", ".join(f"{r.stream} {r.messages:,}" for r in replayed)
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    settings = Settings()
    if not args.yes:
        answer = console.input("Wipe the stats read models and replay every stream? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            console.print("nothing changed")
            return 1
    return asyncio.run(_rebuild(settings, console, args.allow_partial))


if __name__ == "__main__":
    sys.exit(main())
