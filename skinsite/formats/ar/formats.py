"""Arabic date formats Django lacks; the rest (DATE_FORMAT, TIME_FORMAT...) comes from Django.

Django's ``ar`` locale defines no DATETIME_FORMAT, so Arabic pages fell back to the English
"N j, Y, P" ("ديسمبر 1, 2026, 8:50 م"). Day, month, year, then the Arabic comma before the time.
"""

from __future__ import annotations

DATETIME_FORMAT = "j F Y، g:i A"
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y g:i A"
