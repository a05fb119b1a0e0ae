"""/api/v1/ endpoints about the caller: who they are (``me/``) and their personal tokens."""

from django.http import Http404
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from activities.serializers import ErrorSerializer

from .models import PersonalToken
from .serializers import MeSerializer, PersonalTokenCreatedSerializer, PersonalTokenSerializer
from .services import token_create, token_revoke

TAG = "account"

TOKEN_POLICY = _(
    "A personal token is created only from a signed-in browser session (session cookie and "
    "CSRF token): a request authenticated with a personal token cannot create further tokens, "
    "so a leaked token cannot outlive its own revocation. Listing and revoking work with either."
)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        summary=_("Who am I"),
        description=_("The signed-in person: email, name, preferred language and roles."),
        responses=MeSerializer,
    )
    def get(self, request):
        return Response(MeSerializer(request.user, context={"request": request}).data)


class NotWithPersonalToken(permissions.BasePermission):
    message = _(
        "A personal token cannot create further tokens. Sign in to the portal and create the "
        "token from your browser session."
    )

    def has_permission(self, request, view):
        return not isinstance(request.auth, PersonalToken)


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary=_("List my personal tokens"),
        description=_(
            "The caller's own tokens, revoked and expired ones included. Keys are never shown."
        ),
    ),
    retrieve=extend_schema(tags=[TAG], summary=_("One of my personal tokens")),
    create=extend_schema(
        tags=[TAG],
        summary=_("Create a personal token"),
        description=format_lazy(
            "{} {}", _("Answers with the key, shown only this once."), TOKEN_POLICY
        ),
        request=PersonalTokenSerializer,
        responses={
            201: PersonalTokenCreatedSerializer,
            403: OpenApiResponse(
                ErrorSerializer,
                description=_(
                    "Refused: the request was authenticated with a personal token, or the "
                    "session's CSRF token is missing."
                ),
            ),
        },
        auth=[{"cookieAuth": []}],
    ),
    destroy=extend_schema(
        tags=[TAG],
        summary=_("Revoke a personal token"),
        description=_(
            "Revokes the token for good; requests with it are refused from now on. Revoking a "
            "revoked token is harmless. Another person's token answers 404."
        ),
    ),
)
class PersonalTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PersonalTokenSerializer
    pagination_class = None  # a person holds a handful of tokens

    def get_permissions(self):
        allowed = [permissions.IsAuthenticated()]
        if self.action == "create":
            allowed.append(NotWithPersonalToken())
        return allowed

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return PersonalToken.objects.none()
        return PersonalToken.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = token_create(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_at=serializer.validated_data.get("expires_at"),
        )
        token.key = key
        return Response(
            PersonalTokenCreatedSerializer(token, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def destroy(self, request, *args, **kwargs):
        token = self.get_object()
        if not request.user.has_perm("accounts.revoke_token", token):
            raise Http404
        token_revoke(token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router):
    """Add this app's endpoints to /api/v1/."""
    router.register_view("me", MeView.as_view(), "me")
    router.register("tokens", PersonalTokenViewSet, basename="token")
