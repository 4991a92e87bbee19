"""REST API for customers and premises."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from han_gateway.models import HanDevice, NetworkInterface, PremisesGateway
from portal.access.roles import user_works_for_utility
from portal.access.viewers import Viewer, han_data_view_open
from portal.access.visibility import (
    customer_get_for_user,
    premise_get_for_user,
    premises_visible_to,
)
from portal.api.serializers import error_responses
from portal.customers.selectors import customer_premises, customer_search, premise_han_devices
from portal.models import Customer, Premise


class _GatewaySerializer(serializers.Serializer[Any]):
    meter_number = serializers.CharField()
    ami_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=PremisesGateway.Kind.choices)
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()
    region = serializers.CharField()


class _InterfaceSerializer(serializers.Serializer[Any]):
    identifier = serializers.CharField()
    technology = serializers.ChoiceField(choices=NetworkInterface.Technology.choices)
    channel = serializers.IntegerField(allow_null=True)
    pan_id = serializers.IntegerField(allow_null=True)
    extended_pan_id = serializers.CharField()
    security_level = serializers.IntegerField(allow_null=True)


class _DeviceSerializer(serializers.Serializer[Any]):
    eui64 = serializers.CharField(help_text="Masked for staff when the device is customer-owned.")
    masked = serializers.BooleanField()
    network = serializers.ChoiceField(choices=HanDevice.Network.choices)
    category = serializers.CharField(source="category_label")
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    firmware_version = serializers.CharField()


class _PremiseSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    service_point_id = serializers.CharField()
    address = serializers.CharField(source="full_address")
    # Through a premise without a gateway: DRF answers None for a nullable field.
    meter_number = serializers.CharField(source="premises_gateway.meter_number", allow_null=True)


class _PremiseDetailSerializer(_PremiseSummarySerializer):
    """A premise, its gateway, and the HAN devices on record as the caller may see them."""

    premises_gateway = _GatewaySerializer(allow_null=True)
    interfaces = serializers.SerializerMethodField()
    # As context["viewer"], the Viewer built by the access check, may see them.
    devices = serializers.SerializerMethodField()

    @extend_schema_field(_InterfaceSerializer(many=True))
    def get_interfaces(self, premise: Premise) -> Any:
        gateway = premise.premises_gateway
        return _InterfaceSerializer(gateway.interfaces.all(), many=True).data if gateway else []

    @extend_schema_field(_DeviceSerializer(many=True))
    def get_devices(self, premise: Premise) -> Any:
        viewer: Viewer = self.context["viewer"]
        devices = premise_han_devices(viewer=viewer, premise=premise)
        return _DeviceSerializer(devices, many=True).data


class _CustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    account_number = serializers.CharField()


class _CustomerWithPremisesSerializer(_CustomerSerializer):
    premises = _PremiseSummarySerializer(many=True)


class CustomerListApi(APIView):
    """Search customers by name, account number, address, service point or meter number."""

    OutputSerializer = _CustomerWithPremisesSerializer

    @extend_schema(
        operation_id="customers_search",
        parameters=[OpenApiParameter("search", str, description="Name, account, address or meter")],
        responses={
            200: inline_serializer(
                "CustomerSearchResults", {"results": _CustomerWithPremisesSerializer(many=True)}
            ),
            **error_responses(403),
        },
    )
    def get(self, request: Request) -> Response:
        if not user_works_for_utility(request.user):
            raise PermissionDenied("Customer search is for the utility's staff.")
        query = request.query_params.get("search", "")[:100]
        customers = customer_search(user=request.user, query=query)
        return Response({"results": self.OutputSerializer(customers, many=True).data})


class CustomerDetailApi(APIView):
    class CustomerDetailSerializer(_CustomerSerializer):
        """A customer and their premises, with HAN devices as the caller may see them."""

        # Blank when none is on record, so not documented as an e-mail address.
        email = serializers.CharField()
        phone = serializers.CharField()
        premises = serializers.SerializerMethodField()

        @extend_schema_field(_PremiseDetailSerializer(many=True))
        def get_premises(self, customer: Customer) -> Any:
            premises = customer_premises(customer=customer)
            return _PremiseDetailSerializer(premises, many=True, context=self.context).data

    @extend_schema(responses={200: CustomerDetailSerializer, **error_responses(404)})
    def get(self, request: Request, customer_id: int) -> Response:
        customer = customer_get_for_user(user=request.user, customer_id=customer_id)
        if customer is None:
            raise Http404
        viewer = han_data_view_open(user=request.user, customer=customer, what="API: customer")
        return Response(self.CustomerDetailSerializer(customer, context={"viewer": viewer}).data)


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("customer", int, description="Only this customer's")],
        responses={200: _PremiseSummarySerializer(many=True), **error_responses(400)},
    )
)
class PremiseListApi(generics.ListAPIView[Premise]):
    """The premises the caller may see: a customer's own; every premise for staff (paged)."""

    serializer_class = _PremiseSummarySerializer

    def get_queryset(self) -> QuerySet[Premise]:
        premises = premises_visible_to(self.request.user)
        customer_id = self.request.query_params.get("customer")
        if customer_id:
            if not customer_id.isdigit():
                raise ValidationError({"customer": ["Must be a customer id (a number)."]})
            premises = premises.filter(customer_id=int(customer_id))
        return premises.select_related("premises_gateway").order_by("pk")


class PremiseDetailApi(APIView):
    @extend_schema(responses={200: _PremiseDetailSerializer, **error_responses(404)})
    def get(self, request: Request, premise_id: int) -> Response:
        premise = premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        viewer = han_data_view_open(
            user=request.user, customer=premise.customer, premise=premise, what="API: premise"
        )
        return Response(_PremiseDetailSerializer(premise, context={"viewer": viewer}).data)
