"""The editors' admin, one module per model family; importing them registers their ModelAdmins."""

from reports.admin import comments, images, notifications, reports, site_pages  # noqa: F401
