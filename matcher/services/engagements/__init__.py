"""Engagements after approval: the agreement and its versions (agreements), service records (records),
forms and grades (assessments), 奖补 by rule within budgets (rewards); shared lookups in common."""
