"""Coverage-guided fuzzing of the file readers with atheris (libFuzzer for Python).

Not part of the test suite. Each input is split by its first byte into one of
four readers (partial dates, FtM JSON lines, USAspending CSV or zip, screening
holdings CSV); a reader may accept the input or refuse it with its own clear
error, and anything else escaping is a crash that libFuzzer reports with the
input that caused it.

atheris 3 ships wheels for Python 3.12+ only and building it needs clang with
libFuzzer, so on Python 3.11 run it with the last release that has a 3.11 wheel,
without adding it to the project:

    mkdir -p /tmp/receipts-corpus
    uv run --with "atheris==2.3.0" python fuzz/fuzz_readers.py -max_total_time=60 \
        -artifact_prefix=/tmp/ /tmp/receipts-corpus

(the corpus folder keeps the inputs that found new code paths; a crashing
input is written to ``/tmp/crash-<sha1>`` and replays with
``python fuzz/fuzz_readers.py /tmp/crash-<sha1>``). The Receipts database is a throwaway SQLite file in a temporary
folder, migrated at start; the FtM import runs in a transaction that is
rolled back after each input, and a refused import must leave it unchanged.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import atheris

_TMP = Path(tempfile.mkdtemp(prefix="receipts-fuzz-"))
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'fuzz.sqlite3'}"
os.environ["RECEIPTS_DATA_DIR"] = str(_TMP / "data")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")

with atheris.instrument_imports(include=["receipts"]):
    import django

    django.setup()

    from django.core.exceptions import ValidationError
    from django.core.management import call_command
    from django.db import transaction

    from receipts.evidence.dates import parse_partial_date
    from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie
    from receipts.ingest.ftm import FtmImportError, import_ftm
    from receipts.ingest.usaspending.files import InputError, collect_inputs
    from receipts.ingest.usaspending.formats import HeaderError
    from receipts.ingest.usaspending.stage import Stage
    from receipts.screening.reading import HoldingsFile, ScreeningInputError

call_command("migrate", verbosity=0)


def _stored() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Entity, Source, Tie, Citation, Identifier))


def fuzz_date(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        parsed = parse_partial_date(text)
    except ValidationError:
        return
    assert parse_partial_date(parsed) == parsed, (text, parsed)


def fuzz_ftm(data: bytes) -> None:
    with transaction.atomic():
        before = _stored()
        try:
            import_ftm(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"), "fuzz.json")
        except FtmImportError:
            assert _stored() == before, "a refused import stored something"
        transaction.set_rollback(True)


def fuzz_usaspending(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        try:
            inputs = collect_inputs([path], workdir)
            stage = Stage(workdir)
            try:
                for number, inp in enumerate(inputs):
                    stage.load(number, inp)
                stage.finish()
            finally:
                stage.close()
        except (InputError, HeaderError):
            return


def fuzz_holdings(data: bytes) -> None:
    try:
        for _line in HoldingsFile(io.BytesIO(data), "holdings.csv", size=len(data)):
            pass
    except ScreeningInputError:
        return


def test_one_input(data: bytes) -> None:
    if not data:
        return
    which, body = data[0] % 5, data[1:]
    if which == 0:
        fuzz_date(body)
    elif which == 1:
        fuzz_ftm(body)
    elif which == 2:
        fuzz_usaspending(body, "contracts.csv")
    elif which == 3:
        fuzz_usaspending(body, "download.zip")
    else:
        fuzz_holdings(body)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
