//! Istio RequestAuthentication: which JWT issuers a workload accepts.

use serde::{Deserialize, Serialize};

use super::authorization_policy::PolicyTargetReference;
use super::de::nullable;
use super::meta::ObjectMeta;
use super::selector::WorkloadSelector;

/// A RequestAuthentication.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct RequestAuthentication {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: RequestAuthenticationSpec,
}

/// `RequestAuthentication.spec`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestAuthenticationSpec {
    /// Workload selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<WorkloadSelector>,
    /// Deprecated single target reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<PolicyTargetReference>,
    /// Target references.
    #[serde(default, deserialize_with = "nullable")]
    pub target_refs: Vec<PolicyTargetReference>,
    /// JWT rules.
    #[serde(default, deserialize_with = "nullable")]
    pub jwt_rules: Vec<JwtRule>,
}

/// One JWT rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtRule {
    /// Issuer.
    #[serde(default, deserialize_with = "nullable")]
    pub issuer: String,
    /// Accepted audiences.
    #[serde(default, deserialize_with = "nullable")]
    pub audiences: Vec<String>,
    /// JWKS URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}
