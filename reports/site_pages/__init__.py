"""Pages about the publication that editors write in the admin (About, Contact, Privacy,
Terms), at /<slug>/, linked from every page's footer."""
