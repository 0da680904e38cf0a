"""Charter: people, roles and departments, and the CX Charter itself.

Owns the custom ``User``, the five product roles (as groups with permissions), ``Department``
and the one place that scopes every query to the departments a user may see
(``charter.selectors``). Governance lives here too:

- ``VersionedDocument`` (models) + ``charter.documents`` (lifecycle services: draft → in review →
  published → superseded, executive approval, diffs) + ``charter.document_views`` /
  ``charter.document_api`` (browser and API for any versioned document). Missions reuses them
  for the mission and the success statement.
- The CX Charter: ``CharterVersion`` (purpose, scope, decisions policy, snapshot of the lists),
  ``CharterRole``, ``GovernanceActivity`` × role RACI cells, ``GovernanceMeeting`` (cadence),
  ranked ``Priority`` (each tied to a success measure, named by string so charter never imports
  missions). The live lists are the open draft's working copy: writes in ``charter.services``
  open a draft on the first edit and refresh its snapshot; ``/charter/``, the PDF and the API
  show only the published snapshot (``/charter/draft/`` edits, with banner and diff).
  ``Decision`` log entries are append-only records (who, when). See ADR 0011.
- The inbox (``charter.inbox``): ``inbox_notify`` from any app puts an item under the bell
  (and e-mails it, per ``User.inbox_email``); approvals, returned drafts and assigned actions
  use it.
- Department goals (ambassadors edit only their own; others get 404), journey map
  (stages, touchpoints), CX maturity self-assessment.
- ``charter.markdown.render_markdown`` (``{{ text|markdown }}``): the one safe Markdown renderer.

Every governance model keeps a django-simple-history audit trail (who, when, what).
"""
