"""`hotline customers import|export`: customer CSV files from the command line.

Mounted by the main CLI (`app.add_typer(tickets.cli.app, name="customers")`).
Needs only the database URL and the phone region, so it runs without the
runtime secrets; the database must be migrated (`hotline db upgrade`).
Exit status: 0 all rows imported, 1 some rows refused (listed), 2 unusable input.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from config.database import create_engine, session_factory
from config.dbcheck import DatabaseNotReady, check_ready
from config.dbcheck import database_url as settings_database_url
from tickets.csv_io import (
    BATCH,
    ImportReport,
    ImportSource,
    export_customers,
    file_digest,
    import_customers,
    read_rows,
)
from tickets.lifecycle import Actor
from tickets.service import ServiceDesk

app = typer.Typer(help="Customer records: CSV import and export.", no_args_is_help=True)
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None, typer.Option(help="Database URL (default: HOTLINE_DATABASE_URL, as `hotline serve`).")
]
Demo = Annotated[bool, typer.Option("--demo", help="Use the demo's database (./var/demo).")]
Region = Annotated[str, typer.Option(envvar="HOTLINE_DEFAULT_REGION", help="Default phone region.")]
SHOWN_ERRORS = 30


def _ready(explicit: str | None, demo: bool) -> str:
    """The database URL, checked: one line naming the file and what to run when it is not ready."""
    url = settings_database_url(demo=demo, explicit=explicit)
    try:
        check_ready(url, demo=demo)
    except DatabaseNotReady as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    return url


def _count_rows(path: Path, encoding: str) -> int:
    with path.open(encoding=encoding, newline="") as stream:
        return max(sum(1 for _ in csv.reader(stream)) - 1, 0)


BATCH_HELP = "Rows per transaction (and per audit entry); a killed import resumes after the last one."


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with a header row.")],
    database_url: DatabaseUrl = None,
    demo: Demo = False,
    region: Region = "CN",
    encoding: Annotated[
        str, typer.Option(help="File encoding (Excel in China often writes gb18030).")
    ] = "utf-8-sig",
    errors: Annotated[Path | None, typer.Option(help="Write every refused row to this CSV.")] = None,
    actor: Annotated[str, typer.Option(help="Who imports (for the audit log).")] = "cli",
    batch: Annotated[int, typer.Option(min=1, max=20000, help=BATCH_HELP)] = BATCH,
) -> None:
    """Import (upsert) customers; bad rows are reported (line, field, reason) and skipped.

    A row updates the customer with the same first number and name, so importing a file again
    changes nothing; an import that was killed resumes after its last committed batch."""
    url = _ready(database_url, demo)
    try:
        total = _count_rows(file, encoding)
    except (UnicodeDecodeError, csv.Error) as exc:
        err.print(f"[bold red]error:[/] cannot read {file}: {exc}")
        raise typer.Exit(2) from None
    source = ImportSource(file_digest(file), file.name)
    report = asyncio.run(_import(file, url, region, encoding, actor, total, source, batch))
    _show(report, errors)
    raise typer.Exit(1 if report.errors else 0)


async def _import(
    file: Path,
    url: str,
    region: str,
    encoding: str,
    actor: str,
    total: int,
    source: ImportSource,
    batch: int,
) -> ImportReport:
    engine = create_engine(url)
    try:
        desk = ServiceDesk(session_factory(engine), region=region)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with file.open(encoding=encoding, newline="") as stream, Progress(*columns, console=err) as progress:
            task = progress.add_task("importing customers", total=total)
            try:
                rows = read_rows(stream)
                return await import_customers(
                    desk.ctx,
                    rows,
                    actor=Actor(actor, "admin"),
                    progress=lambda n: progress.advance(task, n),
                    batch=batch,
                    source=source,
                )
            except ValueError as exc:
                err.print(f"[bold red]error:[/] {file}: {exc}")
                raise typer.Exit(2) from None
    finally:
        await engine.dispose()


def _show(report: ImportReport, errors_path: Path | None) -> None:
    if report.resumed_after:
        err.print(f"resumed an interrupted import of this file after line {report.resumed_after}")
    err.print(f"imported [bold]{report.imported}[/] customers; refused [bold]{report.failed}[/] rows")
    err.print(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"numbers added {report.phones_added}"
    )
    if not report.errors:
        return
    table = Table("line", "field", "reason")
    for error in report.errors[:SHOWN_ERRORS]:
        table.add_row(str(error.line), error.field, error.message)
    err.print(table)
    if len(report.errors) > SHOWN_ERRORS and errors_path is None:
        err.print(f"... {len(report.errors) - SHOWN_ERRORS} more: use --errors FILE for the full list")
    if errors_path is not None:
        with errors_path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["line", "field", "reason"])
            writer.writerows((e.line, e.field, e.message) for e in report.errors)


@app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="CSV file to write.")],
    database_url: DatabaseUrl = None,
    demo: Demo = False,
    region: Region = "CN",
) -> None:
    """Export every customer with phones and tags, in the format `import` reads."""
    url = _ready(database_url, demo)

    async def run() -> int:
        engine = create_engine(url)
        try:
            desk = ServiceDesk(session_factory(engine), region=region)
            with file.open("w", encoding="utf-8-sig", newline="") as stream:
                return await export_customers(desk.ctx, stream)
        finally:
            await engine.dispose()

    err.print(f"exported {asyncio.run(run())} customers to {file}")
