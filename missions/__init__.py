"""Missions: the CX Mission Statement and the CX Success Statement (measures with baseline,
target, owner and actuals, validated by finance), both versioned with executive approval, and
Mission Moments.

Entry points: ``missions.services`` (measure save/validate, actual entry, the
``measure_actual_record_computed`` hook the feedback side calls with NPS/CSAT/CES it aggregated,
moments), ``missions.selectors`` (``success_measure_list``, ``moment_featured_list`` for the
dashboard and executive report). Document lifecycles come from ``charter.documents``.
"""
