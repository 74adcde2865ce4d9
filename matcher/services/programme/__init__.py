"""The programme's rules applied to the work in progress: the official calendar with the years officials
entered (``calendar.py``), time limits on every open item and the 督查 (overdue) list (``deadlines.py``)."""
