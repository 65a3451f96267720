"""Fetch a USAspending contract download by API and import it with the importer.

The download goes to a private folder under the data folder and is imported
through ``import_usaspending``, the entry point of ``receipts import
usaspending``, so a fetched zip is checked and stored exactly as a zip
downloaded by hand; a zip the importer refuses (cut short, damaged) stores
nothing. The zip is removed once imported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from receipts.ingest.usaspending.importer import ImportSummary, import_usaspending
from receipts.private_files import private_dir

from .usaspending_api import ApiAgency, Job, Status, UsaspendingApi, contract_filters

ImportProgress = Callable[[str, int, int | None], None]


@dataclass
class FetchResult:
    agency: ApiAgency
    date_type: str
    start: dt.date
    end: dt.date
    job: Job
    status: Status
    summary: ImportSummary

    def lines(self) -> list[str]:
        rows = self.status.total_rows
        return [
            f"fetched {self.job.file_name}: {self.agency.name}, contracts with "
            f"{self.date_type} {self.start} to {self.end}"
            + (f", {rows} rows" if rows is not None else ""),
            *self.summary.lines(),
            f"contract ties ended as their contracts ran out: {self.summary.ties.ended}, "
            f"reopened by an extended period: {self.summary.ties.reopened}",
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.job.file_name,
            "agency": {"code": self.agency.code, "name": self.agency.name},
            "date_type": self.date_type,
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "server_rows": self.status.total_rows,
            "import": self.summary.as_dict(),
            "contract_ties_ended": self.summary.ties.ended,
            "contract_ties_reopened": self.summary.ties.reopened,
        }


def download_folder() -> Path:
    return private_dir(Path(settings.DATA_DIR) / "downloads" / "usaspending")


def fetch_usaspending(
    agency: ApiAgency,
    start: dt.date,
    end: dt.date,
    *,
    date_type: str = "action_date",
    api: UsaspendingApi | None = None,
    progress: ImportProgress | None = None,
    on_job: Callable[[Job], None] | None = None,
) -> FetchResult:
    """Ask for, wait for, download and import one contract download.

    Raises receipts.fetch.usaspending_api.FetchError (and its JobFailed,
    JobTimedOut) before anything is stored, and what the importer raises
    (InputError for a zip it cannot read, having stored nothing).
    """
    api = api or UsaspendingApi()
    job = api.start(contract_filters(agency, start, end, date_type))
    if on_job is not None:
        on_job(job)
    status = api.wait(job)
    path = api.download(api.file_url(job, status), download_folder(), job.file_name)
    kwargs: dict[str, Any] = {} if progress is None else {"progress": progress}
    summary = import_usaspending([path], **kwargs)
    # Imported: the records are in the database and cite USAspending; a failed
    # import keeps the zip for a look (and a manual ``receipts import usaspending``).
    with contextlib.suppress(OSError):
        path.unlink()
    return FetchResult(agency, date_type, start, end, job, status, summary)
