"""The admin's import page: upload an export, read the dry run's report, confirm, watch the
progress, read the summary. Reached from the newsletter subscribers' list; the admin wraps
each view in its staff login, and every step asks for the permission to add subscribers.
The work itself is a Celery task (`newsletter/importing.py` holds the rules); the pages
refresh themselves while it runs, with no script needed."""

from django import forms
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.models import NewsletterImport, NewsletterSubscriber
from accounts.newsletter.importing import (
    MAX_FILE_BYTES,
    OUTCOME_LABELS,
    SKIPPED,
    ConsentMode,
    ImportFileError,
    Outcome,
    SourceFormat,
    newsletter_import_confirm,
    newsletter_import_create,
    newsletter_imports_recent,
)
from publisher.ratelimit import Limit, limit_exceeded

PERMISSION = "accounts.add_newslettersubscriber"
UPLOAD_LIMIT = Limit(20, 3600, "Twenty uploads in an hour is the limit. Try again later.")
REFRESH_SECONDS = 2
RUNNING = {NewsletterImport.Status.CHECKING, NewsletterImport.Status.IMPORTING}


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV export",
        help_text=f"Substack, Mailchimp or Ghost, at most {MAX_FILE_BYTES // 2**20} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    source_format = forms.ChoiceField(
        label="Exported from",
        choices=[
            (SourceFormat.AUTO.value, "Recognise from the file's header"),
            (SourceFormat.SUBSTACK.value, "Substack (subscriber export)"),
            (SourceFormat.MAILCHIMP.value, "Mailchimp (audience export: one of its CSV files)"),
            (SourceFormat.GHOST.value, "Ghost (members export)"),
        ],
        initial=SourceFormat.AUTO.value,
    )
    consent = forms.ChoiceField(
        label="Consent",
        widget=forms.RadioSelect,
        choices=[
            (
                ConsentMode.CONFIRM.value,
                "Send each new subscriber a confirmation email; they receive reports only "
                "after clicking its link",
            ),
            (
                ConsentMode.PRESERVE.value,
                "Keep the consent the source recorded (its time and address where the export "
                "has them) and start the emails at once",
            ),
        ],
        initial=ConsentMode.CONFIRM.value,
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 2**20:.1f} MB; at most {MAX_FILE_BYTES // 2**20} "
                "MB can be imported at once. Split it into smaller files."
            )
        return upload


def _check_permission(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def _context(site: AdminSite, request: HttpRequest, title: str, **extra: object) -> dict:
    return {
        **site.each_context(request),
        "opts": NewsletterSubscriber._meta,
        "title": title,
        **extra,
    }


def import_start(request: AuthenticatedHttpRequest, *, site: AdminSite) -> HttpResponse:
    _check_permission(request)
    status = 200
    form = ImportForm()
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if limit_exceeded("newsletter-import", request.user.pk, [UPLOAD_LIMIT]):
            form.add_error(None, UPLOAD_LIMIT.message)
            status = 429
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = newsletter_import_create(
                    data=upload.read(),
                    file_name=upload.name,
                    source_format=SourceFormat(form.cleaned_data["source_format"]),
                    consent=ConsentMode(form.cleaned_data["consent"]),
                    user=request.user,
                )
            except ImportFileError as error:
                form.add_error("file", str(error))
            else:
                return HttpResponseRedirect(_job_url(job))
        if status == 200:
            status = 400
    return TemplateResponse(
        request,
        "admin/accounts/newslettersubscriber/import_form.html",
        _context(
            site, request, "Import subscribers", form=form, recent=newsletter_imports_recent()
        ),
        status=status,
    )


def import_job(request: HttpRequest, pk: int, *, site: AdminSite) -> HttpResponse:
    _check_permission(request)
    job = get_object_or_404(NewsletterImport.objects.defer("content", "rejected_csv"), pk=pk)
    report = job.report or {}
    counts = report.get("counts", {})
    rows = [
        {
            "label": OUTCOME_LABELS[outcome],
            "count": counts.get(outcome.value, 0),
            "kind": "imported"
            if outcome == Outcome.IMPORTED
            else "skipped"
            if outcome in SKIPPED
            else "rejected",
        }
        for outcome in Outcome
    ]
    first_rejected = [
        {"line": line, "email": email, "label": OUTCOME_LABELS[Outcome(outcome)], "reason": reason}
        for line, email, outcome, reason in report.get("first_rejected", [])
    ]
    not_imported = sum(row["count"] for row in rows if row["kind"] != "imported")
    return TemplateResponse(
        request,
        "admin/accounts/newslettersubscriber/import_job.html",
        _context(
            site, request, f"Import of {job.file_name}",
            job=job, rows=rows, first_rejected=first_rejected, not_imported=not_imported,
            running=job.status in RUNNING, refresh_seconds=REFRESH_SECONDS,
            format_label=dict(ImportForm.base_fields["source_format"].choices).get(  # type: ignore[attr-defined]
                job.source_format, job.source_format
            ),
            preserve=job.consent == ConsentMode.PRESERVE,
            statuses=NewsletterImport.Status,
        ),
    )  # fmt: skip


@require_POST
def import_confirm(request: HttpRequest, pk: int, *, site: AdminSite) -> HttpResponse:
    _check_permission(request)
    job = get_object_or_404(NewsletterImport.objects.only("pk"), pk=pk)
    newsletter_import_confirm(job_id=job.pk)
    return HttpResponseRedirect(_job_url(job))


@require_POST
def import_cancel(request: HttpRequest, pk: int, *, site: AdminSite) -> HttpResponse:
    _check_permission(request)
    NewsletterImport.objects.filter(pk=pk, status=NewsletterImport.Status.CHECKED).delete()
    return HttpResponseRedirect(reverse("admin:accounts_newslettersubscriber_import"))


def import_rejected(request: HttpRequest, pk: int, *, site: AdminSite) -> HttpResponse:
    _check_permission(request)
    job = get_object_or_404(NewsletterImport.objects.only("rejected_csv", "status"), pk=pk)
    if job.status in RUNNING:
        raise Http404("The report is not ready yet.")
    response = HttpResponse(job.rejected_csv, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-not-imported.csv"'
    return response


def _job_url(job: NewsletterImport) -> str:
    return reverse("admin:accounts_newslettersubscriber_import_job", args=[job.pk])
