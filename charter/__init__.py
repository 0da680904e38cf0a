"""Charter: people, roles and departments, and the CX Charter itself.

Owns the custom ``User``, the five product roles (as groups with permissions), ``Department``
and the one place that scopes every query to the departments a user may see
(``charter.selectors``). Governance lives here too:

- ``VersionedDocument`` (models) + ``charter.documents`` (lifecycle services: draft → in review →
  published → superseded, executive approval, diffs) + ``charter.document_views`` /
  ``charter.document_api`` (browser and API for any versioned document). Missions reuses them
  for the mission and the success statement.
- The CX Charter: ``CharterVersion`` (purpose, scope, snapshot of the live lists taken at
  submit), ``CharterRole``, ``GovernanceActivity`` × role RACI cells, ``GovernanceMeeting``
  (cadence), ``Decision`` log, ranked ``Priority`` (each tied to a success measure, named by
  string so charter never imports missions). Writes in ``charter.services``.
- Department goals (ambassadors edit only their own; others get 404), journey map
  (stages, touchpoints), CX maturity self-assessment.
- ``charter.markdown.render_markdown`` (``{{ text|markdown }}``): the one safe Markdown renderer.

Every governance model keeps a django-simple-history audit trail (who, when, what).
"""
