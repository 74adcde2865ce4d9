"""The version format every piece of policy configuration carries (programmes, 奖补 rules): ``2026-12-v1``,
year, month and a counter. One pattern, so a programme and its rules cannot disagree on what a version is."""

from __future__ import annotations

import re

VERSION = re.compile(r"(\d{4})-(0[1-9]|1[0-2])-v([1-9]\d*)")
