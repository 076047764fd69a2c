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
from config.settings import Settings
from tickets.csv_io import ImportReport, export_customers, import_customers, read_rows
from tickets.lifecycle import Actor
from tickets.service import ServiceDesk

app = typer.Typer(help="Customer records: CSV import and export.", no_args_is_help=True)
err = Console(stderr=True)

DEFAULT_URL = str(Settings.model_fields["database_url"].default)
DatabaseUrl = Annotated[str, typer.Option(envvar="HOTLINE_DATABASE_URL", help="Database URL.")]
Region = Annotated[str, typer.Option(envvar="HOTLINE_DEFAULT_REGION", help="Default phone region.")]
SHOWN_ERRORS = 30


def _count_rows(path: Path, encoding: str) -> int:
    with path.open(encoding=encoding, newline="") as stream:
        return max(sum(1 for _ in csv.reader(stream)) - 1, 0)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with a header row.")],
    database_url: DatabaseUrl = DEFAULT_URL,
    region: Region = "CN",
    encoding: Annotated[
        str, typer.Option(help="File encoding (Excel in China often writes gb18030).")
    ] = "utf-8-sig",
    errors: Annotated[Path | None, typer.Option(help="Write every refused row to this CSV.")] = None,
    actor: Annotated[str, typer.Option(help="Who imports (for the audit log).")] = "cli",
) -> None:
    """Import customers; bad rows are reported (line, field, reason) and skipped."""
    try:
        total = _count_rows(file, encoding)
    except (UnicodeDecodeError, csv.Error) as exc:
        err.print(f"[bold red]error:[/] cannot read {file}: {exc}")
        raise typer.Exit(2) from None
    report = asyncio.run(_import(file, database_url, region, encoding, actor, total))
    _show(report, errors)
    raise typer.Exit(1 if report.errors else 0)


async def _import(file: Path, url: str, region: str, encoding: str, actor: str, total: int) -> ImportReport:
    engine = create_engine(url)
    try:
        desk = ServiceDesk(session_factory(engine), region=region)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with file.open(encoding=encoding, newline="") as stream, Progress(*columns, console=err) as progress:
            task = progress.add_task("importing customers", total=total)
            try:
                rows = read_rows(stream)
                return await import_customers(
                    desk.ctx, rows, actor=Actor(actor, "admin"), progress=lambda n: progress.advance(task, n)
                )
            except ValueError as exc:
                err.print(f"[bold red]error:[/] {file}: {exc}")
                raise typer.Exit(2) from None
    finally:
        await engine.dispose()


def _show(report: ImportReport, errors_path: Path | None) -> None:
    err.print(f"imported [bold]{report.imported}[/] customers; refused [bold]{report.failed}[/] rows")
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
    database_url: DatabaseUrl = DEFAULT_URL,
    region: Region = "CN",
) -> None:
    """Export every customer with phones and tags, in the format `import` reads."""

    async def run() -> int:
        engine = create_engine(database_url)
        try:
            desk = ServiceDesk(session_factory(engine), region=region)
            with file.open("w", encoding="utf-8-sig", newline="") as stream:
                return await export_customers(desk.ctx, stream)
        finally:
            await engine.dispose()

    err.print(f"exported {asyncio.run(run())} customers to {file}")
