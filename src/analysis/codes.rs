//! The one catalogue of finding codes: code, name, level, summary, the fix, and the matching
//! `istioctl analyze` code where there is one. Codes are `DM` + four digits, sorted, grouped in
//! ranges per family, and never renumbered or reused: a retired code stays as a tombstone.
//!
//! | range | family |
//! |---|---|
//! | DM0001-DM0099 | input and tool notes |
//! | DM0101-DM0199 | references |
//! | DM0201-DM0299 | conflicts |
//! | DM0301-DM0399 | mTLS |
//! | DM0401-DM0499 | authorization |
//! | DM0501-DM0599 | injection |
//! | DM0601-DM0699 | ports and protocols |
//! | DM0701-DM0799 | resilience |

use super::Level;

/// One kind of finding.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// `DM0101`.
    pub code: &'static str,
    /// `VirtualServiceGatewayNotFound`.
    pub name: &'static str,
    pub level: Level,
    /// One line saying what is wrong, for docs and SARIF rule descriptions.
    pub summary: &'static str,
    /// What to do about it, in general; findings carry the concrete fix.
    pub fix: &'static str,
    /// The `istioctl analyze` code for the same problem, so suppression lists carry over.
    pub istio: Option<&'static str>,
    /// Retired codes stay here so the number is never reused.
    pub retired: bool,
}

impl Code {
    /// The family a code belongs to, from its range.
    pub fn family(&self) -> &'static str {
        match self.code.get(2..4) {
            Some("00") => "input",
            Some("01") => "references",
            Some("02") => "conflicts",
            Some("03") => "mtls",
            Some("04") => "authz",
            Some("05") => "injection",
            Some("06") => "ports",
            Some("07") => "resilience",
            _ => "unknown",
        }
    }
}

macro_rules! codes {
    ($($id:ident = $code:literal, $name:literal, $level:ident, $istio:expr,
       $summary:literal, $fix:literal;)*) => {
        $(
            #[doc = concat!("`", $code, "` ", $name, ": ", $summary)]
            pub const $id: Code = Code {
                code: $code,
                name: $name,
                level: Level::$level,
                summary: $summary,
                fix: $fix,
                istio: $istio,
                retired: false,
            };
        )*

        /// Every code, sorted.
        pub const ALL: &[&Code] = &[$(&$id),*];
    };
}

codes! {
    UNKNOWN_KINDS_SKIPPED = "DM0001", "UnknownKindsSkipped", Info, None,
        "Input held objects of kinds this tool does not analyze; they were skipped",
        "Nothing to do; the count is for information";
    DEFAULTS_SUPPLIED = "DM0002", "DefaultsSupplied", Info, None,
        "Files were analyzed without a cluster; objects every Istio cluster has were assumed",
        "Pass --no-defaults to analyze only the files, or --use-cluster to read the live state";
    ANALYZER_SKIPPED = "DM0003", "AnalyzerSkipped", Info, None,
        "An analyzer did not run because the objects it reads were not loaded",
        "Include the missing kinds in the input, or run against the cluster";
    INVALID_FIELD_VALUE = "DM0004", "InvalidFieldValue", Error, None,
        "A field holds a value Istio's API server or admission webhook refuses, so the object cannot be applied as written",
        "Set the field named to a value the message allows";
    DUPLICATE_OBJECT = "DM0005", "DuplicateObject", Warning, None,
        "The input defines one object (kind, namespace and name) more than once; kubectl apply -f keeps only the last",
        "Keep one definition of the object, or give the copies names of their own";

    VS_GATEWAY_NOT_FOUND = "DM0101", "VirtualServiceGatewayNotFound", Error, Some("IST0101"),
        "A VirtualService is bound to a Gateway that does not exist",
        "Create the Gateway, or correct the name in spec.gateways (NS/NAME for another namespace)";
    VS_DESTINATION_NOT_FOUND = "DM0102", "VirtualServiceDestinationNotFound", Error, Some("IST0101"),
        "A route destination host matches no Service or ServiceEntry",
        "Correct spec.http[].route[].destination.host, or create the Service or ServiceEntry";
    VS_DESTINATION_PORT_REQUIRED = "DM0103", "VirtualServiceDestinationPortRequired", Error, Some("IST0112"),
        "A route destination has no port but its Service exposes several",
        "Set destination.port.number to one of the Service's ports";
    VS_DESTINATION_PORT_NOT_FOUND = "DM0104", "VirtualServiceDestinationPortNotFound", Error, None,
        "A route destination port is not a port of its Service",
        "Set destination.port.number to a port the Service exposes";
    VS_SUBSET_NOT_FOUND = "DM0105", "VirtualServiceSubsetNotFound", Error, Some("IST0101"),
        "A route destination names a subset no DestinationRule for the host defines",
        "Define the subset in the host's DestinationRule, or remove destination.subset";
    GATEWAY_SELECTOR_NO_PODS = "DM0106", "GatewaySelectorMatchesNoPods", Error, Some("IST0101"),
        "A Gateway's selector matches no gateway pods, so nothing serves it",
        "Set spec.selector to the labels of the gateway workload, e.g. istio: ingressgateway";
    GATEWAY_PORT_NOT_ON_SERVICE = "DM0107", "GatewayPortNotOnService", Warning, Some("IST0162"),
        "A Gateway listens on a port the gateway workload's Service does not expose",
        "Add the port to the gateway Service, or use a port it exposes";
    VS_HOST_NOT_IN_GATEWAY = "DM0108", "VirtualServiceHostNotInGateway", Warning, Some("IST0132"),
        "A VirtualService host is not served by the Gateway it is bound to",
        "Add the host to the Gateway's servers[].hosts, or bind the VirtualService to a Gateway that serves it";
    GATEWAY_CREDENTIAL_NOT_FOUND = "DM0109", "GatewayCredentialNotFound", Error, Some("IST0101"),
        "A Gateway's TLS credentialName names a Secret missing from the gateway workload's namespace",
        "Create the TLS Secret (kubectl create secret tls) in the namespace of the gateway pods";
    DR_HOST_NOT_FOUND = "DM0110", "DestinationRuleHostNotFound", Warning, None,
        "A DestinationRule host matches no Service or ServiceEntry, so it applies to nothing",
        "Correct spec.host, or create the Service or ServiceEntry";
    DR_SUBSET_NO_PODS = "DM0111", "DestinationRuleSubsetSelectsNoPods", Warning, None,
        "A DestinationRule subset's labels select none of the host's pods",
        "Correct subsets[].labels to match the pods' labels (often the version label)";
    HTTPROUTE_PARENT_NOT_FOUND = "DM0112", "HTTPRouteParentNotFound", Error, None,
        "An HTTPRoute is attached to a Gateway that does not exist",
        "Create the Gateway, or correct spec.parentRefs";
    HTTPROUTE_BACKEND_NOT_FOUND = "DM0113", "HTTPRouteBackendNotFound", Error, None,
        "An HTTPRoute backend names a Service that does not exist or lacks the port",
        "Correct spec.rules[].backendRefs, or create the Service";

    GATEWAY_CONFLICT = "DM0201", "ConflictingGateways", Error, Some("IST0145"),
        "Two Gateways on one selector and port claim the same host",
        "Merge the servers into one Gateway, or give them distinct hosts or ports";
    VS_HOST_CONFLICT = "DM0202", "ConflictingVirtualServiceHosts", Error, Some("IST0109"),
        "Two VirtualServices claim one host on the mesh or on one Gateway; which wins is undefined",
        "Merge the routes into one VirtualService per host and gateway";
    DR_HOST_CONFLICT = "DM0203", "ConflictingDestinationRules", Warning, None,
        "Several DestinationRules apply to one host; only one takes effect for each field",
        "Merge them into one DestinationRule per host";
    ROUTE_SHADOWED = "DM0204", "ShadowedRoute", Warning, Some("IST0130"),
        "A route can never match because an earlier route matches every request it would",
        "Move the more specific route first, or narrow the earlier match";
    PA_SAME_LEVEL_CONFLICT = "DM0205", "ConflictingPeerAuthentications", Warning, None,
        "Several PeerAuthentications apply at one level; Istio uses the oldest and ignores the rest",
        "Keep one PeerAuthentication per namespace, and one per workload selector";

    STRICT_WITHOUT_SIDECAR = "DM0301", "StrictMtlsWithoutSidecar", Warning, None,
        "STRICT mTLS applies to pods without a sidecar, so nothing enforces it",
        "Inject the sidecar (kubectl debatemesh inject NS --restart; a bare pod is deleted and recreated), or exclude the workload; never inject kube-system or the control-plane namespace";
    DR_PLAINTEXT_TO_STRICT = "DM0302", "DestinationRuleTlsBreaksStrictMtls", Error, Some("IST0113"),
        "A DestinationRule sends plaintext or non-Istio TLS to a server that requires Istio mTLS",
        "Set trafficPolicy.tls.mode: ISTIO_MUTUAL for the host, or remove the tls block";
    ISTIO_MUTUAL_TO_NO_SIDECAR = "DM0303", "IstioMutualToWorkloadWithoutSidecar", Error, None,
        "A DestinationRule forces Istio mTLS to pods without a sidecar, which cannot accept it",
        "Remove tls.mode: ISTIO_MUTUAL (auto mTLS picks the right mode), or inject the sidecar";
    TLS_WITHOUT_CA = "DM0304", "TlsOriginationWithoutCaCertificates", Warning, Some("IST0128"),
        "A DestinationRule originates SIMPLE or MUTUAL TLS without caCertificates",
        "Set tls.caCertificates (or credentialName) so the server certificate is checked against a known CA";
    PORT_MTLS_WITHOUT_SELECTOR = "DM0305", "PortLevelMtlsWithoutSelector", Error, None,
        "A PeerAuthentication sets portLevelMtls without a selector; Istio rejects or ignores it",
        "Add spec.selector.matchLabels for the workload whose ports it sets";
    PA_SELECTS_NO_PODS = "DM0306", "PeerAuthenticationSelectsNoPods", Warning, Some("IST0127"),
        "A PeerAuthentication's selector matches no pods",
        "Correct spec.selector.matchLabels to match the workload's pod labels";
    MTLS_DISABLED = "DM0307", "MtlsDisabled", Info, None,
        "mTLS is disabled for a workload or port: traffic to it is plaintext",
        "Use PERMISSIVE or STRICT unless plaintext is intended";

    AP_SELECTS_NO_PODS = "DM0401", "AuthorizationPolicySelectsNoPods", Warning, Some("IST0127"),
        "An AuthorizationPolicy's selector matches no pods, so it applies to nothing",
        "Correct spec.selector.matchLabels to match the workload's pod labels";
    AP_NAMESPACE_NOT_FOUND = "DM0402", "AuthorizationPolicyNamespaceNotFound", Warning, Some("IST0101"),
        "A rule names a source namespace that does not exist",
        "Correct source.namespaces (or the ns/ part of a principal)";
    AP_SERVICE_ACCOUNT_NOT_FOUND = "DM0403", "AuthorizationPolicyServiceAccountNotFound", Warning, None,
        "A rule names a service account that does not exist",
        "Correct the principal or serviceAccounts entry, or create the service account";
    AP_IDENTITY_WITHOUT_STRICT = "DM0404", "IdentityRuleWithoutStrictMtls", Warning, None,
        "A rule matches on principals or namespaces where mTLS is not STRICT; plaintext requests carry no identity and never match",
        "Enforce STRICT mTLS on the workload (kubectl debatemesh mtls NS --mode STRICT)";
    AP_HTTP_FIELDS_ON_TCP = "DM0405", "HttpOnlyFieldsOnTcpPort", Warning, None,
        "A rule uses HTTP-only fields on a TCP port: an ALLOW rule never matches, a DENY rule matches more than written",
        "Name the Service port with its protocol (http-, grpc-), or drop the HTTP-only fields";
    AP_ALLOW_NOTHING = "DM0406", "AllowPolicyWithoutRules", Warning, None,
        "An ALLOW policy without rules denies every request to the workloads it selects",
        "Add rules for the callers that should get in, or delete the policy";
    AP_PATH_WITHOUT_SLASH = "DM0407", "PathWithoutLeadingSlash", Warning, None,
        "A path in a rule does not start with '/', so it never matches a request path",
        "Write the path from the root, e.g. /api/*";
    AP_UNKNOWN_METHOD = "DM0408", "UnknownHttpMethod", Warning, None,
        "A method in a rule is not an HTTP method, so it never matches",
        "Use an HTTP method such as GET or POST (gRPC calls are POST; match gRPC methods by path)";
    AP_DENY_NEVER_MATCHES = "DM0409", "DenyRuleNeverMatches", Warning, None,
        "A DENY rule can never match, so it denies nothing",
        "Correct the rule, for example require STRICT mTLS for identity-based fields";
    AP_CUSTOM_PROVIDER_NOT_FOUND = "DM0410", "CustomProviderNotFound", Error, None,
        "A CUSTOM policy names an extension provider the mesh config does not define; Istio rejects requests it selects",
        "Define the provider under meshConfig.extensionProviders, or correct spec.provider.name";
    AP_DRY_RUN = "DM0411", "AuthorizationPolicyDryRun", Info, None,
        "An AuthorizationPolicy is in dry-run mode: it is evaluated and logged but not enforced",
        "Remove the istio.io/dry-run annotation to enforce it";

    NS_MULTIPLE_INJECTION_LABELS = "DM0501", "NamespaceMultipleInjectionLabels", Warning, Some("IST0123"),
        "A namespace carries more than one injection label",
        "Keep one of istio-injection, istio.io/rev or istio.io/dataplane-mode (kubectl debatemesh inject NS)";
    INJECTION_REVISION_NOT_SERVED = "DM0502", "InjectionRevisionNotServed", Error, None,
        "A namespace asks for a revision no control plane serves, so new pods get no sidecar",
        "Install that revision, or relabel the namespace with a served one (kubectl debatemesh inject NS --revision REV)";
    POD_MISSING_SIDECAR = "DM0503", "PodMissingSidecar", Warning, Some("IST0103"),
        "A pod in an injected namespace runs without a sidecar",
        "Restart its workload (kubectl debatemesh inject NS --restart), or delete and recreate a bare pod";
    POD_SIDECAR_NOT_INJECTED = "DM0504", "PodSidecarInUninjectedNamespace", Warning, None,
        "A pod runs a sidecar although its namespace is no longer injected",
        "Restart its workload (or delete and recreate a bare pod) to drop the sidecar, or re-enable injection";
    NAMESPACE_NOT_INJECTED = "DM0505", "NamespaceNotInjected", Info, Some("IST0102"),
        "A namespace with workloads is not enabled for injection",
        "Enable injection (kubectl debatemesh inject NS) or label it istio-injection=disabled";
    POD_SIDECAR_REVISION_MISMATCH = "DM0506", "PodSidecarRevisionMismatch", Warning, None,
        "A pod's sidecar comes from another revision than its namespace asks for",
        "Restart its workload (or delete and recreate a bare pod) to get the sidecar of the namespace's revision";

    PORT_NAME_NO_PROTOCOL = "DM0601", "PortNameGivesNoProtocol", Info, Some("IST0118"),
        "A Service port's name and appProtocol give no protocol, so Istio guesses it from traffic",
        "Name the port <protocol>[-suffix] (http-web, grpc-api, tcp-db) or set appProtocol";
    PORT_PROTOCOL_CONFLICT = "DM0602", "ConflictingPortProtocols", Warning, Some("IST0116"),
        "Several Services give one workload port different protocols",
        "Use one protocol for the port in every Service that selects the workload";

    RETRY_BUDGET_EXCEEDS_TIMEOUT = "DM0701", "RetriesExceedRouteTimeout", Warning, None,
        "perTryTimeout × (1 + attempts) is longer than the route timeout, so later retries never run",
        "Raise timeout, or lower attempts or perTryTimeout";
    RETRIES_NON_IDEMPOTENT = "DM0702", "RetriesOnNonIdempotentRoute", Warning, None,
        "Retries are on for a route that matches POST or any method, so non-idempotent requests may be repeated",
        "Restrict retries to routes matching GET, HEAD, PUT, DELETE or OPTIONS, or set retries.attempts: 0";
    DEFAULT_RETRIES = "DM0703", "DefaultRetries", Info, None,
        "A route has no retries block, so Istio's default of 2 retries applies",
        "Set retries explicitly (kubectl debatemesh resilience SVC --retries N)";
    EJECT_ALL_FEW_ENDPOINTS = "DM0704", "OutlierEjectionCanEjectAll", Warning, None,
        "outlierDetection.maxEjectionPercent of 100 with few endpoints can eject every host",
        "Lower maxEjectionPercent (e.g. 50) or set minHealthPercent";
    GATEWAY_ERRORS_NO_EFFECT = "DM0705", "GatewayErrorThresholdHasNoEffect", Warning, None,
        "consecutiveGatewayErrors is not below consecutive5xxErrors, so it never ejects first",
        "Set consecutiveGatewayErrors below consecutive5xxErrors, or drop it";
    RETRIES_WITHOUT_PER_TRY_TIMEOUT = "DM0706", "RetriesWithoutPerTryTimeout", Info, None,
        "A route retries without perTryTimeout, so one slow try can use the whole timeout",
        "Set retries.perTryTimeout";
}

/// The code with this `DM` number, Istio code or name.
pub fn lookup(id: &str) -> Vec<&'static Code> {
    ALL.iter()
        .copied()
        .filter(|c| c.code == id || c.name.eq_ignore_ascii_case(id) || c.istio == Some(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_well_formed() {
        for pair in ALL.windows(2) {
            assert!(pair[0].code < pair[1].code, "{} is not before {}", pair[0].code, pair[1].code);
        }
        let mut names: Vec<_> = ALL.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "names are unique");
        for c in ALL {
            assert!(c.code.len() == 6 && c.code.starts_with("DM"), "{}", c.code);
            assert!(c.code[2..].bytes().all(|b| b.is_ascii_digit()), "{}", c.code);
            assert_ne!(c.family(), "unknown", "{} is in no family range", c.code);
            assert!(!c.summary.ends_with('.') && !c.fix.ends_with('.'), "{}", c.code);
            if let Some(ist) = c.istio {
                assert!(ist.len() == 7 && ist.starts_with("IST"), "{}", c.code);
            }
        }
    }

    #[test]
    fn codes_are_found_by_number_name_or_istio_code() {
        assert_eq!(lookup("DM0101"), vec![&VS_GATEWAY_NOT_FOUND]);
        assert_eq!(lookup("podmissingsidecar"), vec![&POD_MISSING_SIDECAR]);
        assert!(lookup("IST0101").contains(&&VS_GATEWAY_NOT_FOUND));
        assert!(lookup("DM9999").is_empty());
    }
}

/// The reference table of docs/codes.md, generated from the catalogue.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| code | name | level | istioctl | what it means | fix |\n|---|---|---|---|---|---|\n",
    );
    for c in ALL {
        let name = if c.retired { format!("{} (retired)", c.name) } else { c.name.to_string() };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.code,
            name,
            c.level.word(),
            c.istio.unwrap_or("-"),
            c.summary,
            c.fix
        ));
    }
    out
}

#[cfg(test)]
mod docs_tests {
    /// docs/codes.md holds the generated table between markers; `DEBATEMESH_BLESS=1` rewrites it.
    #[test]
    fn docs_list_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/codes.md");
        let text = std::fs::read_to_string(path).expect("docs/codes.md exists");
        let (begin, end) = ("<!-- codes:begin -->\n", "<!-- codes:end -->");
        let start = text.find(begin).expect("begin marker") + begin.len();
        let stop = text.find(end).expect("end marker");
        let table = super::markdown_table();
        if std::env::var_os("DEBATEMESH_BLESS").is_some() {
            let updated = format!("{}{table}{}", &text[..start], &text[stop..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(
            &text[start..stop],
            table,
            "docs/codes.md is stale: run with DEBATEMESH_BLESS=1"
        );
    }
}
