"""Charter: people, roles and departments, and the CX Charter itself.

Owns the custom ``User``, the five product roles (as groups with permissions), ``Department``
and the one place that scopes every query to the departments a user may see
(``charter.selectors``). Governance documents (charter versions, RACI, cadence, decisions,
priorities, journey map) live here too.
"""
