"""The reading mark's view: count the view, answer a transparent pixel."""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from reports.counting.marks import READ_KINDS, mark_read, request_is_countable
from reports.counting.store import counts_add

# The smallest transparent GIF (1x1, 43 bytes).
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@require_safe
def reading_mark(request: HttpRequest, token: str) -> HttpResponse:
    # Neither the session nor the user is read here: the mark costs no database query, and
    # what the reader may see (and whose seat they read through) was decided when the page,
    # and so this address, was rendered.
    read = mark_read(token)
    if read is None:
        raise Http404("No such mark.")
    if request_is_countable(request):
        counts_add(report_id=read.report_id, counters=READ_KINDS[read.kind], seat=read.seat)
    response = HttpResponse(PIXEL, content_type="image/gif")
    # Every view must reach us again: never kept by the browser or a shared cache.
    patch_cache_control(response, private=True, no_store=True, max_age=0)
    return response
