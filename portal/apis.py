"""REST API for the portal's customers and premises (CRM and the portal's own pages)."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import selectors
from portal.models import Premise


class _GatewaySerializer(serializers.Serializer[Any]):
    meter_number = serializers.CharField()
    ami_id = serializers.CharField()
    kind = serializers.CharField()
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()
    region = serializers.CharField()


class _InterfaceSerializer(serializers.Serializer[Any]):
    identifier = serializers.CharField()
    technology = serializers.CharField()
    channel = serializers.IntegerField(allow_null=True)
    pan_id = serializers.IntegerField(allow_null=True)
    extended_pan_id = serializers.CharField()
    security_level = serializers.IntegerField(allow_null=True)


class _DeviceSerializer(serializers.Serializer[Any]):
    eui64 = serializers.CharField(help_text="Masked for staff when the device is customer-owned.")
    masked = serializers.BooleanField()
    network = serializers.CharField()
    category = serializers.CharField(source="category_label")
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()


class _PremiseSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    service_point_id = serializers.CharField()
    address = serializers.CharField(source="full_address")
    meter_number = serializers.CharField(
        source="premises_gateway.meter_number", default=None, allow_null=True
    )


class _CustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    account_number = serializers.CharField()


def _premise_payload(request: Request, premise: Premise) -> dict[str, Any]:
    gateway = premise.premises_gateway
    data: dict[str, Any] = dict(_PremiseSummarySerializer(premise).data)
    data["premises_gateway"] = _GatewaySerializer(gateway).data if gateway else None
    data["interfaces"] = (
        _InterfaceSerializer(gateway.interfaces.all(), many=True).data if gateway else []
    )
    devices = selectors.premise_han_devices(user=request.user, premise=premise)
    data["devices"] = _DeviceSerializer(devices, many=True).data
    return data


class CustomerListApi(APIView):
    """Search customers by name, account number, address, service point or meter number."""

    class OutputSerializer(_CustomerSerializer):
        premises = _PremiseSummarySerializer(many=True)

    def get(self, request: Request) -> Response:
        if not selectors.user_works_for_utility(request.user):
            raise PermissionDenied("Customer search is for the utility's staff.")
        query = request.query_params.get("search", "")[:100]
        customers = selectors.customer_search(user=request.user, query=query)
        return Response({"results": self.OutputSerializer(customers, many=True).data})


class CustomerDetailApi(APIView):
    class OutputSerializer(_CustomerSerializer):
        email = serializers.EmailField()
        phone = serializers.CharField()

    def get(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_get_for_user(user=request.user, customer_id=customer_id)
        if customer is None:
            raise Http404
        data: dict[str, Any] = dict(self.OutputSerializer(customer).data)
        data["premises"] = [
            _premise_payload(request, premise)
            for premise in selectors.customer_premises(customer=customer)
        ]
        return Response(data)


class PremiseListApi(generics.ListAPIView[Premise]):
    """The premises the caller may see: a customer's own; every premise for staff (paged)."""

    serializer_class = _PremiseSummarySerializer

    def get_queryset(self) -> QuerySet[Premise]:
        premises = selectors.premises_visible_to(self.request.user)
        customer_id = self.request.query_params.get("customer")
        if customer_id:
            if not customer_id.isdigit():
                raise ValidationError({"customer": ["Must be a customer id (a number)."]})
            premises = premises.filter(customer_id=int(customer_id))
        return premises.select_related("premises_gateway").order_by("pk")


class PremiseDetailApi(APIView):
    def get(self, request: Request, premise_id: int) -> Response:
        premise = selectors.premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        return Response(_premise_payload(request, premise))
