"""Screening pages: upload a list and get a printable report; profiles at shareable addresses.

An upload is screened within the request, so it is bounded: at most
``UPLOAD_MAX_BYTES`` bytes, ``UPLOAD_MAX_LINES`` lines of at most
``UPLOAD_MAX_LINE_CHARS`` characters, ``UPLOAD_MAX_COLUMNS`` columns, and
``SCREEN_CPU_SECONDS`` of processor time. A file past one gets a 413 page
naming the limit and pointing to ``receipts screen``, which streams any size
with a progress bar (there is no task queue to hand them to yet); a cell of
more than ``UPLOAD_MAX_CELL_CHARS`` characters gets a 422 naming its line and
column. Anonymous clients may screen ``SCREEN_RATE_PER_MINUTE`` files a
minute and ``SCREEN_RATE_PER_DAY`` a day (429 past that, before the upload is
read); signed-in users are not counted. The uploaded file is read once and
never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from receipts import refusals
from receipts.evidence.queries import family_paths, surviving_entity
from receipts.outreach.views import client_key

from . import report as reports
from . import services
from .forms import ProfileForm, ScreenForm
from .models import ScreeningProfile
from .queries import (
    DEFAULT_KINDS,
    DEFAULT_SLUG,
    DEFAULT_STATUSES,
    ProfileNotFound,
    ProfileSpec,
    ProfileWithoutAgencies,
    can_change,
    listed_profiles,
    profile_spec,
)
from .reading import DELIMITER_NAMES, CellTooLong, ReadLimits, ScreeningInputError, TooLarge
from .screen import CLEAR, FLAGGED, NOT_FOUND, POSSIBLE, screen_file

# What a request may screen: about the size of a large fund's holdings file.
UPLOAD_MAX_LINES = 20_000
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
# Far past any holdings or vendor list, and what keeps a hostile file cheap:
# a file of one 4 MB line is refused at its first 10,000 characters, before the
# header is parsed (comparing a header of two million cells took 8 s of CPU).
UPLOAD_MAX_LINE_CHARS = 10_000
UPLOAD_MAX_COLUMNS = 200
UPLOAD_MAX_CELL_CHARS = 1_000
# The form's other fields and multipart boundaries around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
TOO_LARGE = (
    "This file is larger than the site screens in one request ({limit}){detail}. Screen it "
    "from the command line, which reads any size: receipts screen FILE --profile {profile} "
    "--format csv -o report.csv"
)
THROTTLED = (
    "Too many files have been screened from this connection ({per_minute} a minute and "
    "{per_day} a day without signing in). Nothing was read from this one; try again in about "
    "{wait}, sign in, or screen the file from the command line: receipts screen FILE"
)


def _limits() -> dict[str, int]:
    """What the upload form tells people about its limits."""
    return {
        "limit_lines": UPLOAD_MAX_LINES,
        "limit_mb": UPLOAD_MAX_BYTES >> 20,
        "limit_line_chars": UPLOAD_MAX_LINE_CHARS,
        "limit_per_minute": settings.SCREEN_RATE_PER_MINUTE,
    }


def upload_limits() -> ReadLimits:
    """How the reader bounds an upload: the constants above, read when called."""
    return ReadLimits(
        lines=UPLOAD_MAX_LINES,
        line_chars=UPLOAD_MAX_LINE_CHARS,
        columns=UPLOAD_MAX_COLUMNS,
        cell_chars=UPLOAD_MAX_CELL_CHARS,
    )


class UploadLimit(FileUploadHandler):
    """Stops reading an upload past the byte limit, before it is written anywhere."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _spec_or_404(slug: str) -> ProfileSpec:
    try:
        return profile_spec(slug)
    except ProfileNotFound as exc:
        raise Http404(str(exc)) from exc


def _download_name(upload_name: str, extension: str) -> str:
    stem = slugify(PurePath(upload_name).stem)[:60] or "list"
    return f"screening-{stem}.{extension}"


@csrf_exempt
def screen_page(request: HttpRequest) -> HttpResponse:
    """The upload form (GET) and its report (POST): HTML, or CSV or JSON to download."""
    if request.method == "POST":
        if not request.user.is_authenticated:
            # Counted before the body is read: a throttled client costs a query.
            try:
                services.take_anonymous_screening(client_key(request))
            except services.ScreeningThrottled as exc:
                return _throttled(request, exc.retry_after)
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > UPLOAD_MAX_BYTES + FORM_OVERHEAD_BYTES:
            return _too_large(request, f"{UPLOAD_MAX_BYTES >> 20} MB")
        # Before anything reads the body (the CSRF check below parses it): a body
        # sent without a length is stopped at the limit as it arrives.
        limit = UploadLimit(request, UPLOAD_MAX_BYTES)
        request.upload_handlers.insert(0, limit)
        return _screen(request, limit)
    return _screen(request, None)


def _refused(
    request: HttpRequest,
    status: int,
    message: Callable[[str], str],
    form: ScreenForm | None = None,
) -> HttpResponse:
    """The upload page with one refusal at its top, ``message(profile slug)``.

    Reads no body: it may answer before the upload is parsed.
    """
    chosen = getattr(form, "cleaned_data", {}).get("profile") if form is not None else None
    wanted = chosen or request.GET.get("profile") or DEFAULT_SLUG
    profiles = listed_profiles(extra=wanted)
    if wanted not in dict(profiles):
        wanted = DEFAULT_SLUG
    context = {
        "form": form or ScreenForm(profiles=profiles, initial={"profile": wanted}),
        "refusal": message(wanted),
        **_limits(),
    }
    return render(request, "screening/screen.html", context, status=status)


def _too_large(
    request: HttpRequest, limit: str, form: ScreenForm | None = None, detail: str = ""
) -> HttpResponse:
    """413: past a limit of the site, pointing to the command line."""
    shown = f": {detail}" if detail else ""
    return _refused(
        request,
        413,
        lambda profile: TOO_LARGE.format(limit=limit, detail=shown, profile=profile),
        form,
    )


def _throttled(request: HttpRequest, retry_after: int) -> HttpResponse:
    """429: too many anonymous screenings from this client; says when to come back."""
    minutes = max(1, round(retry_after / 60))
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    if retry_after > 3600:
        hours = round(retry_after / 3600)
        wait = f"{hours} hour{'s' if hours != 1 else ''}"
    message = THROTTLED.format(
        per_minute=settings.SCREEN_RATE_PER_MINUTE, per_day=settings.SCREEN_RATE_PER_DAY, wait=wait
    )
    response = _refused(request, 429, lambda _profile: message)
    response["Retry-After"] = str(retry_after)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
def _screen(request: HttpRequest, limit: UploadLimit | None) -> HttpResponse:
    wanted = request.GET.get("profile") or request.POST.get("profile") or DEFAULT_SLUG
    profiles = listed_profiles(extra=wanted)
    if wanted not in dict(profiles):
        wanted = DEFAULT_SLUG
    context: dict[str, Any] = _limits()
    if request.method != "POST":
        form = ScreenForm(profiles=profiles, initial={"profile": wanted})
        return render(request, "screening/screen.html", {**context, "form": form})

    form = ScreenForm(request.POST, request.FILES, profiles=profiles)
    if limit is not None and limit.exceeded:
        return _too_large(request, f"{UPLOAD_MAX_BYTES >> 20} MB")
    if not form.is_valid():
        return render(request, "screening/screen.html", {**context, "form": form}, status=400)
    upload = form.cleaned_data["file"]
    try:
        spec = profile_spec(form.cleaned_data["profile"])
        result = screen_file(
            upload,
            upload.name,
            spec,
            size=upload.size,
            limits=upload_limits(),
            cpu_seconds=settings.SCREEN_CPU_SECONDS,
        )
    except TooLarge as exc:
        return _too_large(request, exc.limit, form, detail=str(exc))
    except CellTooLong as exc:
        form.add_error("file", str(exc))
        return render(request, "screening/screen.html", {**context, "form": form}, status=422)
    except (ScreeningInputError, ProfileNotFound, ProfileWithoutAgencies) as exc:
        form.add_error("file", str(exc))
        return render(request, "screening/screen.html", {**context, "form": form}, status=400)

    fmt = request.POST.get("format", "html")
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{_download_name(upload.name, "csv")}"'
        )
        reports.write_csv(result, response)
        return response
    if fmt == "json":
        response = HttpResponse(content_type="application/json; charset=utf-8")
        reports.write_json(result, response)
        response["Content-Disposition"] = (
            f'attachment; filename="{_download_name(upload.name, "json")}"'
        )
        return response
    return render(
        request,
        "screening/report.html",
        {
            "report": result,
            "summary": reports.summary_text(result),
            "flagged": result.lines_with(FLAGGED),
            "possible": result.lines_with(POSSIBLE),
            "clear": result.lines_with(CLEAR),
            "not_found": result.lines_with(NOT_FOUND),
            "delimiter_name": DELIMITER_NAMES[result.delimiter],
            "flagged_percent": _percent(result.flagged_value_share),
            "possible_percent": _percent(result.possible_value_share),
            "matched_percent": _percent(result.flagged_share_of_matched),
        },
    )


def _percent(share: float | None) -> str | None:
    return None if share is None else f"{share:.1%}"


@require_safe
def profile_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A profile at its shareable address: what counts, and an upload form preset to it."""
    try:
        spec = _spec_or_404(slug)
        missing = ""
    except ProfileWithoutAgencies as exc:
        saved = ScreeningProfile.objects.filter(slug=slug).first()
        if saved is None and slug != DEFAULT_SLUG:
            raise Http404(str(exc)) from exc
        spec, missing = None, str(exc)
    agencies = []
    if spec is not None:
        for agency in spec.agencies:
            components = family_paths(agency.pk)
            agencies.append({"entity": agency, "components": len(components) - 1})
    profiles = listed_profiles(extra=slug)
    saved = spec.profile if spec is not None else None
    return render(
        request,
        "screening/profile.html",
        {
            "spec": spec,
            "slug": slug,
            "missing": missing,
            "agencies": agencies,
            "share_url": request.build_absolute_uri(f"/screen/?profile={slug}"),
            "form": ScreenForm(profiles=profiles, initial={"profile": slug}),
            "can_change": saved is not None and can_change(saved, request.user),
            **_limits(),
        },
    )


def _profile_initial(profile: ScreeningProfile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "slug": profile.slug,
        "description": profile.description,
        "agencies": "\n".join(surviving_entity(a).slug for a in profile.agencies.order_by("name")),
        "tie_kinds": profile.tie_kinds,
        "statuses": profile.statuses,
        "listed": profile.listed,
    }


@require_http_methods(["GET", "HEAD", "POST"])
def profile_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Create a profile (any logged-in user), or change one (its creator or a superuser)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    profile = get_object_or_404(ScreeningProfile, slug=slug) if slug else None
    if profile is not None and not can_change(profile, request.user):
        raise PermissionDenied("Only the profile's creator or a superuser may change it")
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.save_profile(
                    name=data["name"],
                    slug=data["slug"] or None,
                    description=data["description"],
                    agencies=data["agencies"],
                    tie_kinds=data["tie_kinds"],
                    statuses=data["statuses"],
                    listed=data["listed"],
                    created_by=request.user,
                    profile=profile,
                )
            except ValidationError as exc:
                refusals.add_to_form(form, exc)
            else:
                return redirect(saved.get_absolute_url())
    elif profile is not None:
        form = ProfileForm(initial=_profile_initial(profile))
    else:
        form = ProfileForm(
            initial={"tie_kinds": list(DEFAULT_KINDS), "statuses": list(DEFAULT_STATUSES)}
        )
    status = 400 if form.is_bound and form.errors else 200
    heading = f"Change profile {profile.name}" if profile else "New screening profile"
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": heading,
            "intro": "A profile says which agencies (with their components), tie kinds and "
            "statuses make a holding or vendor flagged.",
        },
        status=status,
    )
