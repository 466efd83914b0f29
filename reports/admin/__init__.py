"""The editors' admin, one module per model family; importing them registers their ModelAdmins."""

from reports.admin import comments, notifications, reports, site_pages  # noqa: F401
