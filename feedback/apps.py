from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self) -> None:
        from . import pipeline_config  # noqa: F401  (connects the configuration-stamp signals)
