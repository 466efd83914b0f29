"""The search page: the form and this reader's results (reports/search.py decides the matches)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from publisher.cache.pages import public_page
from reports.search import SearchForm, search_reports


@require_safe
@public_page
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    page = None
    if form.is_valid() and form.cleaned_data["q"]:
        page = search_reports(
            text=form.cleaned_data["q"],
            reader=request.user,
            kind=form.cleaned_data["kind"] or None,
            topic=form.cleaned_data["topic"],
            page_number=request.GET.get("page"),
        )
    return render(request, "reports/search.html", {"form": form, "page": page})
