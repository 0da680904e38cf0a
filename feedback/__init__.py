"""Feedback: Voice-of-the-Customer intake and loop closure.

Owns programs (with their purpose), sources and their secrets, the intake URL and vendor
adapters (``feedback.sources``), responses and customers, CSV imports, the outbox that
makes intake lossless, themes, routing rules, SLA policies, insights, action items with their
inner and outer loops, and notifications.
"""
