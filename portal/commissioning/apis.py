"""REST API for device registrations."""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from han_gateway.models import HanDevice
from portal.access.roles import signed_in_user, user_works_for_utility
from portal.access.visibility import premise_get_for_user
from portal.api.serializers import error_responses
from portal.commissioning import services as commissioning
from portal.commissioning.selectors import premise_registrations, registration_get_for_user
from portal.models import Premise
from trust_center.services import RegistrationError


class _RegistrationSerializer(serializers.Serializer[Any]):
    """A registration as the API shows it: never its install code or link key."""

    id = serializers.IntegerField()
    eui64 = serializers.CharField()
    category = serializers.CharField()
    manufacturer = serializers.CharField()
    model = serializers.CharField()
    interface = serializers.CharField(help_text="Its HAN interface; empty: the meter's first.")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    status_reason = serializers.CharField()
    join_window_expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class RegistrationListApi(APIView):
    """A premise's Utility HAN device registrations; POST registers one (CRM integration)."""

    class RegistrationInputSerializer(serializers.Serializer[Any]):
        eui64 = serializers.CharField(max_length=64, required=False, allow_blank=True)
        install_code = serializers.CharField(max_length=80, required=False, allow_blank=True)
        qr_text = serializers.CharField(max_length=300, required=False, allow_blank=True)
        category = serializers.ChoiceField(
            choices=HanDevice.Category.choices,
            # DRF's own message repeats the value sent, which could be a misplaced install code.
            error_messages={"invalid_choice": "Choose one of the kinds of device listed."},
        )
        manufacturer = serializers.CharField(max_length=64, required=False, allow_blank=True)
        model = serializers.CharField(max_length=64, required=False, allow_blank=True)
        interface = serializers.CharField(
            max_length=32,
            required=False,
            allow_blank=True,
            help_text="The meter's HAN interface the device is to join; its first when left out.",
        )

    def _premise(self, request: Request, premise_id: int) -> Premise:
        premise = premise_get_for_user(user=request.user, premise_id=premise_id)
        if premise is None:
            raise Http404
        return premise

    @extend_schema(
        responses={
            200: inline_serializer(
                "RegistrationList", {"results": _RegistrationSerializer(many=True)}
            ),
            **error_responses(404),
        }
    )
    def get(self, request: Request, premise_id: int) -> Response:
        premise = self._premise(request, premise_id)
        registrations = premise_registrations(premise=premise)
        return Response({"results": _RegistrationSerializer(registrations, many=True).data})

    @extend_schema(
        request=RegistrationInputSerializer,
        responses={201: _RegistrationSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, premise_id: int) -> Response:
        premise = self._premise(request, premise_id)
        data = self.RegistrationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            registration = commissioning.device_register(
                premise=premise, user=signed_in_user(request), **data.validated_data
            )
        except RegistrationError as error:
            message = error.message_for(staff=user_works_for_utility(request.user))
            raise ValidationError({error.field or "non_field_errors": [message]}) from error
        return Response(_RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED)


class RegistrationDetailApi(APIView):
    """One registration's status; DELETE removes the device from the meter's HAN."""

    def _registration(self, request: Request, registration_id: int) -> Any:
        found = registration_get_for_user(user=request.user, registration_id=registration_id)
        if found is None:
            raise Http404
        return found[0]

    @extend_schema(responses={200: _RegistrationSerializer, **error_responses(404)})
    def get(self, request: Request, registration_id: int) -> Response:
        return Response(_RegistrationSerializer(self._registration(request, registration_id)).data)

    @extend_schema(responses={200: _RegistrationSerializer, **error_responses(404)})
    def delete(self, request: Request, registration_id: int) -> Response:
        registration = self._registration(request, registration_id)
        commissioning.device_unregister(registration=registration, user=signed_in_user(request))
        registration.refresh_from_db()
        return Response(_RegistrationSerializer(registration).data)
