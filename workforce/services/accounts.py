import hashlib
import hmac
import secrets

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.errors import ApplicationError
from workforce.models import ApiKey, Membership, Organization, User, Worker
from workforce.selectors import accounts as selectors

API_KEY_PREFIX = "gw"


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def user_create(*, email: str, password: str | None, email_verified: bool = False) -> User:
    """Create a user with an allauth email address (verified or waiting for confirmation).
    Addresses are stored in lower case, as allauth looks them up."""
    email = email.strip().lower()
    email_taken = ApplicationError("email_taken", "A user with this email exists.", field="email")
    if User.objects.filter(email__iexact=email).exists():
        raise email_taken
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
    except IntegrityError:  # a concurrent sign-up took the email first
        raise email_taken from None
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user


@transaction.atomic
def worker_register(*, user: User, display_name: str = "", accept_terms: bool) -> Worker:
    """Give a user a worker profile. Workers must accept the worker terms to take tasks."""
    worker, _ = Worker.objects.get_or_create(user=user, defaults={"display_name": display_name})
    if accept_terms and worker.terms_accepted_at is None:
        worker.terms_accepted_at = timezone.now()
        worker.save(update_fields=["terms_accepted_at"])
    return worker


def api_key_create(*, user: User, name: str, roles: list[str] | None = None) -> tuple[ApiKey, str]:
    """Create a key acting in `roles` (default: every role the user holds) and return it with
    its plain text, which is shown once and never stored."""
    held = selectors.roles_of(user=user)
    roles = sorted(held if roles is None else set(roles))
    if not set(roles) <= held:
        raise ApplicationError(
            "role_not_held",
            f"A key can act only in roles its user holds ({', '.join(sorted(held)) or 'none'}).",
            field="roles",
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user, name=name, roles=roles, prefix=prefix, hashed_secret=_hash_secret(secret)
    )
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


def api_key_issue(
    *, user: User, name: str, roles: list[str] | None = None, acting_key: ApiKey | None = None
) -> tuple[ApiKey, str]:
    """A user creates a key for themself (the API and the API keys page).

    Finance staff and vendor managers must set up an authenticator app first. A request made
    with a key creates keys only within that key's roles (default: all of them), so a key
    cannot mint a key stronger than itself."""
    held = selectors.roles_of(user=user)
    if held & selectors.MFA_ROLES and not selectors.mfa_enabled(user=user):
        raise ApplicationError(
            "mfa_required",
            "Set up two-factor authentication (an authenticator app) to create API keys.",
            status=403,
        )
    if acting_key is not None:
        allowed = held & set(acting_key.roles)
        if roles is None:
            roles = sorted(allowed)
        elif not set(roles) <= allowed:
            raise ApplicationError(
                "role_not_held",
                "A key can create keys only in its own roles "
                f"({', '.join(sorted(allowed)) or 'none'}).",
                field="roles",
            )
    if not (held if roles is None else roles):
        raise ApplicationError(
            "no_roles",
            "A key must act in at least one role.",
            field="roles",
        )
    return api_key_create(user=user, name=name, roles=roles)


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Compares hashes in constant time."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    _, prefix, secret = parts
    # The user's worker profile comes along (selectors.worker_for reads it from there): the
    # worker API is the busiest caller.
    try:
        key = ApiKey.objects.select_related("user__worker").get(
            prefix=prefix, revoked_at__isnull=True, user__is_active=True
        )
    except ApiKey.DoesNotExist:
        return None
    if not hmac.compare_digest(key.hashed_secret, _hash_secret(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def worker_profile_update(*, worker: Worker, display_name: str) -> Worker:
    """Change what the worker is called on Groundwork (blank: their email address)."""
    display_name = display_name.strip()
    if len(display_name) > Worker._meta.get_field("display_name").max_length:
        raise ApplicationError(
            "display_name_too_long",
            "A display name has at most 100 characters.",
            field="display_name",
        )
    if worker.display_name != display_name:
        worker.display_name = display_name
        worker.save(update_fields=["display_name"])
    return worker


@transaction.atomic
def organization_create(*, name: str, owner: User) -> Organization:
    """A requester organisation with its first member as owner."""
    organization = Organization.objects.create(name=name)
    Membership.objects.create(organization=organization, user=owner, role=Membership.Role.OWNER)
    return organization


def organization_hook_secret(*, organization: Organization) -> str:
    """The secret that signs requests to the organisation's HTTPS annotation hooks, made on
    first use. Concurrent first uses agree on one secret: the first write wins."""
    if organization.hook_secret:
        return organization.hook_secret
    Organization.objects.filter(pk=organization.pk, hook_secret="").update(
        hook_secret=secrets.token_hex(32)
    )
    organization.hook_secret = Organization.objects.values_list("hook_secret", flat=True).get(
        pk=organization.pk
    )
    return organization.hook_secret


def organization_hook_secret_rotate(*, organization: Organization) -> str:
    """Replace the hook secret: requests are signed with the new one from now on."""
    organization.hook_secret = secrets.token_hex(32)
    Organization.objects.filter(pk=organization.pk).update(hook_secret=organization.hook_secret)
    return organization.hook_secret
