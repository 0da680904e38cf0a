from django.contrib import admin

from . import models

admin.site.register(models.SuccessMeasure)
admin.site.register(models.MeasureActual)
