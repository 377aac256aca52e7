//! `DM0410` CustomProviderNotFound: an enforced CUSTOM policy names an extension provider the
//! mesh config does not define (or one that cannot serve it).
//!
//! Istio rule: istiod looks the provider up in `meshConfig.extensionProviders`; an undefined
//! name, a provider that is not `envoyExtAuthzHttp`/`envoyExtAuthzGrpc`, or one without a valid
//! service and port makes it generate DENY rules for what the policy matches (istio/istio
//! `pilot/pkg/security/authz/builder/extauthz.go`, `getExtAuthz`; see
//! <https://istio.io/latest/docs/tasks/security/authorization/authz-custom/>). The judgement is
//! `authz::policy::provider_status`, the one the evaluator uses.
//!
//! Limitations: skipped when the mesh config could not be read. A dry-run CUSTOM policy is
//! not enforced, so its provider is not judged.

use crate::analysis::{Analyzer, Finding, codes, finding};
use crate::authz::policy::{ProviderStatus, provider_status};
use crate::mesh::Kind;
use crate::mesh::authorization_policy::Action;
use crate::mesh::snapshot::Snapshot;

/// See the module docs.
pub struct CustomProviderNotFound;

impl Analyzer for CustomProviderNotFound {
    fn name(&self) -> &'static str {
        "authz-custom-provider-not-found"
    }

    fn description(&self) -> &'static str {
        "CUSTOM policies whose extension provider the mesh config does not define"
    }

    fn inputs(&self) -> &'static [Kind] {
        &[Kind::AuthorizationPolicy, Kind::ConfigMap]
    }

    fn codes(&self) -> &'static [&'static codes::Code] {
        &[&codes::AP_CUSTOM_PROVIDER_NOT_FOUND]
    }

    fn run(&self, snapshot: &Snapshot, out: &mut Vec<Finding>) {
        if snapshot.mesh_error().is_some() {
            return;
        }
        let defined: Vec<&str> = snapshot
            .mesh()
            .extension_providers
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    crate::mesh::mesh_config::ProviderKind::ExtAuthzHttp
                        | crate::mesh::mesh_config::ProviderKind::ExtAuthzGrpc
                )
            })
            .map(|p| p.name.as_str())
            .collect();
        for ap in snapshot.authorization_policies() {
            if ap.action() != Action::Custom || ap.is_dry_run() {
                continue;
            }
            let name = ap.spec.provider.as_ref().map_or("", |p| p.name.as_str());
            let ProviderStatus::Bad(why) = provider_status(snapshot, &[name]) else { continue };
            let message = format!(
                "{why}: istiod turns the policy's rules into DENY rules, so the requests they \
                 match are denied"
            );
            let fix = if defined.is_empty() {
                "define the provider under meshConfig.extensionProviders (envoyExtAuthzGrpc or \
                 envoyExtAuthzHttp with service and port)"
                    .to_string()
            } else {
                format!(
                    "set spec.provider.name to a defined ext authz provider ({}), or define {name:?} \
                     under meshConfig.extensionProviders",
                    defined.join(", ")
                )
            };
            out.push(finding(&codes::AP_CUSTOM_PROVIDER_NOT_FOUND, ap, message).fix(fix));
        }
    }
}
