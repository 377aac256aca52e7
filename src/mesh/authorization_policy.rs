//! Istio AuthorizationPolicy with every rule field Istio has.
//!
//! Fields follow istio/api `security/v1beta1/authorization_policy.proto`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::de::{nullable, strings};
use super::meta::{ANNOTATION_DRY_RUN, ObjectMeta};
use super::selector::WorkloadSelector;

/// An AuthorizationPolicy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct AuthorizationPolicy {
    /// Metadata (`istio.io/dry-run` is read from the annotations).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: AuthorizationPolicySpec,
}

/// `AuthorizationPolicy.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicySpec {
    /// Workload selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<WorkloadSelector>,
    /// Deprecated single target reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<PolicyTargetReference>,
    /// Target references (gateways, waypoint Services).
    #[serde(default, deserialize_with = "nullable")]
    pub target_refs: Vec<PolicyTargetReference>,
    /// Action; absent means ALLOW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The extension provider of a CUSTOM policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ExtensionProviderRef>,
    /// Rules; absent or empty means the policy never matches.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<Rule>,
}

/// A policy target reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PolicyTargetReference {
    /// API group.
    #[serde(default, deserialize_with = "nullable")]
    pub group: String,
    /// Kind.
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Namespace (must be the policy's own when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `AuthorizationPolicy.Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// Allow matching requests; deny the rest when any ALLOW policy applies.
    Allow,
    /// Deny matching requests.
    Deny,
    /// Mark matching requests for audit; never decides.
    Audit,
    /// Delegate matching requests to an extension provider.
    Custom,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "ALLOW",
            Self::Deny => "DENY",
            Self::Audit => "AUDIT",
            Self::Custom => "CUSTOM",
            Self::Unknown => "UNKNOWN",
        })
    }
}

/// `provider: {name: ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ExtensionProviderRef {
    /// Provider name from mesh config `extensionProviders`.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

/// A rule: from, to and when are ANDed; entries within from and to are ORed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Rule {
    /// Sources.
    #[serde(default, deserialize_with = "nullable")]
    pub from: Vec<From>,
    /// Operations.
    #[serde(default, deserialize_with = "nullable")]
    pub to: Vec<To>,
    /// Conditions.
    #[serde(default, deserialize_with = "nullable")]
    pub when: Vec<Condition>,
}

/// `from` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct From {
    /// The source; absent matches any source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// `to` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct To {
    /// The operation; absent matches any operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

/// Source fields, ANDed; values within a field ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// Peer identities (`<trust domain>/ns/<ns>/sa/<sa>`).
    #[serde(default, deserialize_with = "strings")]
    pub principals: Vec<String>,
    /// Negated peer identities.
    #[serde(default, deserialize_with = "strings")]
    pub not_principals: Vec<String>,
    /// JWT identities (`<iss>/<sub>`).
    #[serde(default, deserialize_with = "strings")]
    pub request_principals: Vec<String>,
    /// Negated JWT identities.
    #[serde(default, deserialize_with = "strings")]
    pub not_request_principals: Vec<String>,
    /// Namespaces from the peer certificate.
    #[serde(default, deserialize_with = "strings")]
    pub namespaces: Vec<String>,
    /// Negated namespaces.
    #[serde(default, deserialize_with = "strings")]
    pub not_namespaces: Vec<String>,
    /// Service accounts from the peer certificate (`<ns>/<sa>` or `<sa>`).
    #[serde(default, deserialize_with = "strings")]
    pub service_accounts: Vec<String>,
    /// Negated service accounts.
    #[serde(default, deserialize_with = "strings")]
    pub not_service_accounts: Vec<String>,
    /// Source IP blocks (direct peer address).
    #[serde(default, deserialize_with = "strings")]
    pub ip_blocks: Vec<String>,
    /// Negated source IP blocks.
    #[serde(default, deserialize_with = "strings")]
    pub not_ip_blocks: Vec<String>,
    /// Original client IP blocks (X-Forwarded-For or proxy protocol).
    #[serde(default, deserialize_with = "strings")]
    pub remote_ip_blocks: Vec<String>,
    /// Negated original client IP blocks.
    #[serde(default, deserialize_with = "strings")]
    pub not_remote_ip_blocks: Vec<String>,
}

/// Operation fields, ANDed; values within a field ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Hosts (HTTP only, case-insensitive).
    #[serde(default, deserialize_with = "strings")]
    pub hosts: Vec<String>,
    /// Negated hosts.
    #[serde(default, deserialize_with = "strings")]
    pub not_hosts: Vec<String>,
    /// Destination (container) ports.
    #[serde(default, deserialize_with = "strings")]
    pub ports: Vec<String>,
    /// Negated ports.
    #[serde(default, deserialize_with = "strings")]
    pub not_ports: Vec<String>,
    /// Methods (HTTP only).
    #[serde(default, deserialize_with = "strings")]
    pub methods: Vec<String>,
    /// Negated methods.
    #[serde(default, deserialize_with = "strings")]
    pub not_methods: Vec<String>,
    /// Paths (HTTP only), with `{*}` and `{**}` templates.
    #[serde(default, deserialize_with = "strings")]
    pub paths: Vec<String>,
    /// Negated paths.
    #[serde(default, deserialize_with = "strings")]
    pub not_paths: Vec<String>,
}

/// A `when` condition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Attribute name, such as `request.headers[x-token]`.
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    /// Accepted values.
    #[serde(default, deserialize_with = "strings")]
    pub values: Vec<String>,
    /// Rejected values.
    #[serde(default, deserialize_with = "strings")]
    pub not_values: Vec<String>,
}

impl AuthorizationPolicy {
    /// The action (ALLOW when absent).
    pub fn action(&self) -> Action {
        self.spec.action.unwrap_or(Action::Allow)
    }

    /// Whether `istio.io/dry-run` marks the policy as not enforced. Values
    /// parse as Go's `strconv.ParseBool` does; anything else means false.
    pub fn is_dry_run(&self) -> bool {
        matches!(
            self.metadata.annotation(ANNOTATION_DRY_RUN),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }

    /// Target references, including the deprecated single `targetRef`.
    pub fn target_refs(&self) -> Vec<&PolicyTargetReference> {
        if self.spec.target_refs.is_empty() {
            self.spec.target_ref.iter().collect()
        } else {
            self.spec.target_refs.iter().collect()
        }
    }
}
