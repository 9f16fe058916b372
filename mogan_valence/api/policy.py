"""Policy rules in code, with secure-RBAC defaults (project reader and
member, admin; project scope).

Another project's server, or a private flavor the caller has no access to,
is answered 404 before any policy check; a visible resource with the wrong
role is 403.
"""

from oslo_config import cfg
from oslo_policy import policy

from mogan_valence.common import exception

ADMIN = "role:admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_api or rule:context_is_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_api or rule:context_is_admin"

SCOPE = ["project"]

base_rules = [
    policy.RuleDefault("context_is_admin", ADMIN, description="Cloud admins."),
    policy.RuleDefault(
        "project_member_api", PROJECT_MEMBER, description="Members of the project."
    ),
    policy.RuleDefault(
        "project_reader_api", PROJECT_READER, description="Readers of the project."
    ),
]


def _rule(name, check, description, operations):
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": m, "path": p} for m, p in operations],
        scope_types=SCOPE,
    )


server_rules = [
    _rule(
        "mogan:server:create",
        PROJECT_MEMBER_OR_ADMIN,
        "Create a server in one's project.",
        [("POST", "/v1/servers")],
    ),
    _rule(
        "mogan:server:get",
        PROJECT_READER_OR_ADMIN,
        "Show a server, list servers, show its states.",
        [
            ("GET", "/v1/servers"),
            ("GET", "/v1/servers/detail"),
            ("GET", "/v1/servers/{server_uuid}"),
            ("GET", "/v1/servers/{server_uuid}/states"),
        ],
    ),
    _rule(
        "mogan:server:get_all_tenants",
        "rule:context_is_admin",
        "List the servers of every project (all_tenants).",
        [("GET", "/v1/servers?all_tenants=True")],
    ),
    _rule(
        "mogan:server:set_power_state",
        PROJECT_MEMBER_OR_ADMIN,
        "Power a server on or off, or reboot it.",
        [("PUT", "/v1/servers/{server_uuid}/states/power")],
    ),
    _rule(
        "mogan:server:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "Delete a server.",
        [("DELETE", "/v1/servers/{server_uuid}")],
    ),
    _rule(
        "mogan:server:force_release",
        "rule:context_is_admin",
        "Delete a composed server whose node failed cleaning, releasing the "
        "node without a clean (the hardware may still hold tenant data).",
        [("DELETE", "/v1/servers/{server_uuid}?force_release=true")],
    ),
]

flavor_rules = [
    _rule(
        "mogan:flavor:get",
        "role:reader or rule:context_is_admin",
        "List flavors and show one (private ones only with access).",
        [("GET", "/v1/flavors"), ("GET", "/v1/flavors/{flavor_uuid}")],
    ),
    _rule(
        "mogan:flavor:create",
        "rule:context_is_admin",
        "Create a flavor.",
        [("POST", "/v1/flavors")],
    ),
    _rule(
        "mogan:flavor:update",
        "rule:context_is_admin",
        "Update a flavor (name, description, is_public, disabled).",
        [("PATCH", "/v1/flavors/{flavor_uuid}")],
    ),
    _rule(
        "mogan:flavor:delete",
        "rule:context_is_admin",
        "Delete a flavor no server uses.",
        [("DELETE", "/v1/flavors/{flavor_uuid}")],
    ),
    _rule(
        "mogan:flavor:access",
        "rule:context_is_admin",
        "List, add and remove the projects of a private flavor.",
        [
            ("GET", "/v1/flavors/{flavor_uuid}/access"),
            ("POST", "/v1/flavors/{flavor_uuid}/access"),
            ("DELETE", "/v1/flavors/{flavor_uuid}/access/{project_id}"),
        ],
    ),
]


quota_rules = [
    _rule(
        "mogan:quota:get",
        PROJECT_READER_OR_ADMIN,
        "Show a project's quota limits and usage.",
        [("GET", "/v1/quotas/{project_id}")],
    ),
    _rule(
        "mogan:quota:update",
        "rule:context_is_admin",
        "Set a project's quota limits.",
        [("PUT", "/v1/quotas/{project_id}")],
    ),
]


def list_rules():
    """Every rule (entry point oslo.policy.policies)."""
    return base_rules + server_rules + flavor_rules + quota_rules


_ENFORCER: policy.Enforcer | None = None


def get_enforcer(conf: cfg.ConfigOpts = cfg.CONF) -> policy.Enforcer:
    """The enforcer with the rules registered (entry point
    oslo.policy.enforcer, for oslopolicy-checker and friends)."""
    global _ENFORCER
    if _ENFORCER is None:
        enforcer = policy.Enforcer(conf)
        enforcer.register_defaults(list_rules())
        _ENFORCER = enforcer
    return _ENFORCER


def reset() -> None:
    global _ENFORCER
    _ENFORCER = None


def is_admin(context) -> bool:
    return get_enforcer().authorize("context_is_admin", {}, context, do_raise=False)


def authorize(rule: str, context, target: dict | None = None) -> None:
    """:raises Forbidden: the rule refuses the caller (or its scope)."""
    target = dict(target or {})
    target.setdefault("project_id", context.project_id)
    try:
        get_enforcer().authorize(rule, target, context, do_raise=True)
    except (policy.PolicyNotAuthorized, policy.InvalidScope) as e:
        raise exception.Forbidden(reason=f"{rule} is disallowed by policy") from e
