"""Corrections and updates: every saved version of a published report, the public list of
its updates, what changed in its body (for readers who may read it), and reports that cite
one updated since they were published."""
