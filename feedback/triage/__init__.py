"""Triage: the ambassador's inbox, an owner's own actions, the action page and the systemic
board. Reads in ``selectors``, writes through ``feedback.actions``; views stay thin."""
