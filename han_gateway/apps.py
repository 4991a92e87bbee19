from django.apps import AppConfig


class HanGatewayConfig(AppConfig):
    name = "han_gateway"
    verbose_name = "Premises gateways and HAN devices"
