app_name = "compute"

urlpatterns: list = []
