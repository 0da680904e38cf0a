"""Reports: dashboards, metrics computed in the database, the ROI model and the PDF reports."""
