//! What `can` prints: the answer as a tree (the decision, then per destination workload the
//! mTLS outcome and every CUSTOM, DENY, ALLOW and AUDIT policy in evaluation order), the same
//! as a stable JSON or YAML document, and one line (or one JSON line) per batch query.

use std::fmt::Write as _;

use serde::Serialize;

use crate::authz::tls::ClientSource;
use crate::authz::{
    ChainEntry, Deciding, Effect, MtlsMode, Protocol, Request, Verdict, Wire, WorkloadVerdict,
};
use crate::mesh::authorization_policy::Action;

/// What decided, for people and for programs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidedBy {
    /// `policy`, `no-allow-policy-matched`, `no-policy`, `peerauthentication`,
    /// `destinationrule` or `rejected`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
    /// One line, such as `DENY policy foo/deny-admin rule 0`.
    pub text: String,
}

impl DecidedBy {
    /// What decided a verdict, named from the first workload that gives its decision.
    pub fn of_verdict(v: &Verdict) -> Self {
        let first = v.workloads.iter().find(|w| w.decision == v.decision);
        let chain = first.map_or(&[][..], |w| w.chain.as_slice());
        let mut d = DecidedBy::of(&v.deciding, chain);
        if let Some(w) = first {
            d.without_sidecar(w);
        }
        d
    }

    /// With no sidecar on the server nothing enforces AuthorizationPolicy, whatever applies.
    fn without_sidecar(&mut self, w: &WorkloadVerdict) {
        if self.kind == "no-policy" && w.mtls.mode == MtlsMode::NoSidecar {
            self.text = "the server has no sidecar, so nothing enforces authorization policies \
                         there: every request gets in"
                .into();
        }
    }

    fn of(deciding: &Deciding, chain: &[ChainEntry]) -> Self {
        let mut d = DecidedBy {
            kind: "",
            action: None,
            namespace: None,
            name: None,
            rule: None,
            text: String::new(),
        };
        let named = |d: &mut DecidedBy, ns: &str, name: &str| {
            d.namespace = Some(ns.to_string());
            d.name = Some(name.to_string());
        };
        match deciding {
            Deciding::Policy { namespace, name, rule } => {
                let action = chain
                    .iter()
                    .find(|e| e.namespace == *namespace && e.name == *name)
                    .map(|e| e.action.to_string());
                d.kind = "policy";
                named(&mut d, namespace, name);
                d.rule = *rule;
                let rule = rule.map(|r| format!(" rule {r}")).unwrap_or_default();
                let prefix = action.as_deref().map(|a| format!("{a} ")).unwrap_or_default();
                d.text = format!("{prefix}policy {namespace}/{name}{rule}");
                d.action = action;
            }
            Deciding::NoAllowPolicyMatched => {
                d.kind = "no-allow-policy-matched";
                d.text = "no ALLOW policy matched".into();
            }
            Deciding::NoPolicy => {
                d.kind = "no-policy";
                d.text = "no policy denies it and no ALLOW policy applies".into();
            }
            Deciding::PeerAuthentication { namespace, name } => {
                d.kind = "peerauthentication";
                named(&mut d, namespace, name);
                d.text = format!(
                    "STRICT mTLS of peerauthentication {namespace}/{name} refuses the connection"
                );
            }
            Deciding::DestinationRule { namespace, name } => {
                d.kind = "destinationrule";
                named(&mut d, namespace, name);
                d.text = format!(
                    "the TLS mode of destinationrule {namespace}/{name} does not meet the server"
                );
            }
            Deciding::Rejected(why) => {
                d.kind = "rejected";
                d.text = format!("rejected by the proxy before authorization: {why}");
            }
        }
        d
    }
}

/// The answer to one query.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub query: String,
    pub decision: &'static str,
    pub decided_by: DecidedBy,
    pub caller: String,
    pub destination: String,
    pub protocol: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtls: Option<&'static str>,
    /// Whether every destination workload gives the same answer.
    pub consistent: bool,
    pub workloads: Vec<WorkloadView>,
    pub notes: Vec<String>,
}

/// The HTTP request as evaluated.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpView {
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
}

/// One destination workload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadView {
    pub workload: String,
    pub container_port: Option<u16>,
    pub decision: &'static str,
    pub decided_by: DecidedBy,
    pub mtls: MtlsView,
    pub chain: Vec<ChainView>,
    pub notes: Vec<String>,
}

/// The mTLS outcome at a workload port.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MtlsView {
    pub mode: &'static str,
    pub decided_by: String,
    pub client_sends: &'static str,
    /// Why the client sends plaintext, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_reason: Option<String>,
    pub server_accepts: Vec<&'static str>,
    pub connects: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// One policy in evaluation order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainView {
    pub action: String,
    pub namespace: String,
    pub name: String,
    /// `enforced`, `dry-run`, `audit`, `not-enforced`, `bad-provider` or `ignored-on-tcp`.
    pub effect: &'static str,
    pub matched_rule: Option<usize>,
    pub result: String,
}

impl Answer {
    /// The answer to `query` (as typed), evaluated as `request`.
    pub fn new(query: &str, given: &Request, v: &Verdict) -> Self {
        let request = (v.protocol == Protocol::Http).then(|| HttpView {
            method: given.method.clone().unwrap_or_else(|| "GET".into()),
            path: given.path.clone().unwrap_or_else(|| "/".into()),
            host: given.host.clone(),
            headers: given.headers.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        });
        let mut notes = v.notes.clone();
        let http_given = given.method.is_some()
            || given.path.is_some()
            || given.host.is_some()
            || !given.headers.is_empty();
        if v.protocol == Protocol::Tcp && http_given {
            notes.push(
                "the port is handled as TCP: method, path, host and headers play no part".into(),
            );
        }
        Answer {
            query: query.to_string(),
            decision: v.decision.as_str(),
            decided_by: DecidedBy::of_verdict(v),
            caller: v.caller.description.clone(),
            destination: v.target.clone(),
            protocol: match v.protocol {
                Protocol::Http => "HTTP",
                Protocol::Tcp => "TCP",
            },
            request,
            mtls: v.mtls.map(|m| m.as_str()),
            consistent: v.consistent,
            workloads: v.workloads.iter().map(workload_view).collect(),
            notes,
        }
    }
}

fn workload_view(w: &WorkloadVerdict) -> WorkloadView {
    WorkloadView {
        workload: w.workload.clone(),
        container_port: w.container_port,
        decision: w.decision.as_str(),
        decided_by: {
            let mut d = DecidedBy::of(&w.deciding, &w.chain);
            d.without_sidecar(w);
            d
        },
        mtls: MtlsView {
            mode: w.mtls.mode.as_str(),
            decided_by: w.mtls.decider.to_string(),
            client_sends: w.connection.client.wire.as_str(),
            client_reason: client_reason(w),
            server_accepts: w.connection.accepts.iter().map(|a| a.as_str()).collect(),
            connects: w.connection.succeeds,
            peer: w.peer.clone(),
        },
        chain: w.chain.iter().map(chain_view).collect(),
        notes: w.notes.clone(),
    }
}

/// Why the client sends plaintext: it has no sidecar, a DestinationRule says so, or auto mTLS
/// finds the server without the `security.istio.io/tlsMode: istio` label or with mTLS disabled.
fn client_reason(w: &WorkloadVerdict) -> Option<String> {
    let client = &w.connection.client;
    if client.wire != Wire::Plaintext {
        return None;
    }
    Some(match &client.source {
        ClientSource::NoProxy => "the client has no sidecar".into(),
        ClientSource::DestinationRule { namespace, name, .. } => {
            format!("destinationrule {namespace}/{name} sets tls.mode DISABLE")
        }
        ClientSource::AutoMtls if w.mtls.mode == MtlsMode::Disable => {
            "auto mTLS sends plaintext to a server whose mTLS is DISABLE".into()
        }
        ClientSource::AutoMtls => "auto mTLS sends plaintext: the server pod lacks the label \
                                   security.istio.io/tlsMode=istio (no sidecar injected)"
            .into(),
        ClientSource::NoAutoMtls => "mesh config turns auto mTLS off (enableAutoMtls: false) \
                                     and no DestinationRule sets tls.mode ISTIO_MUTUAL"
            .into(),
        ClientSource::Application => return None,
    })
}

fn chain_view(e: &ChainEntry) -> ChainView {
    let matched = e.matched_rule.map(|r| {
        let ignored = &e.rules[r].ignored;
        match ignored.is_empty() {
            true => format!("matched rule {r}"),
            false => {
                format!("matched rule {r} (istiod ignored {} on this TCP port)", ignored.join(", "))
            }
        }
    });
    let missed = || format!("no match: {}", e.why_not());
    let (effect, result) = match &e.effect {
        Effect::Enforced => match (matched, e.action) {
            (Some(m), Action::Custom) => {
                let p = e.provider.as_deref().unwrap_or("?");
                ("enforced", format!("{m}: provider {p} decides at run time"))
            }
            (Some(m), _) => ("enforced", m),
            (None, _) => ("enforced", missed()),
        },
        Effect::DryRun => {
            ("dry-run", format!("dry-run, not enforced: {}", matched.unwrap_or_else(missed)))
        }
        Effect::Audit => ("audit", format!("audit only: {}", matched.unwrap_or_else(missed))),
        Effect::NotEnforced => {
            ("not-enforced", "not enforced: the workload has no proxy".to_string())
        }
        Effect::BadCustomProvider(why) => (
            "bad-provider",
            format!("{why}, so istiod denies what it matches: {}", matched.unwrap_or_else(missed)),
        ),
        Effect::IgnoredOnTcp => {
            ("ignored-on-tcp", "ignored: an HTTP ext authz provider does not check TCP".to_string())
        }
    };
    ChainView {
        action: e.action.to_string(),
        namespace: e.namespace.clone(),
        name: e.name.clone(),
        effect,
        matched_rule: e.matched_rule,
        result,
    }
}

/// The answer as a tree.
pub fn tree(a: &Answer) -> String {
    let mut out = String::new();
    let what = match &a.request {
        Some(r) => format!("{} {} {}", a.protocol, r.method, r.path),
        None => a.protocol.to_string(),
    };
    let _ = writeln!(out, "{}: {} -> {} ({what})", a.decision, a.caller, a.destination);
    let _ = writeln!(out, "decided by: {}", a.decided_by.text);
    // Workloads that answer alike are shown once.
    let mut groups: Vec<(&WorkloadView, Vec<&str>)> = Vec::new();
    for w in &a.workloads {
        match groups
            .iter_mut()
            .find(|(g, _)| g.decision == w.decision && g.decided_by.text == w.decided_by.text)
        {
            Some((_, more)) => more.push(&w.workload),
            None => groups.push((w, Vec::new())),
        }
    }
    for (i, (w, more)) in groups.iter().enumerate() {
        let last = i + 1 == groups.len();
        workload_tree(&mut out, w, more, last);
    }
    for note in a.workloads.iter().flat_map(|w| &w.notes).chain(&a.notes) {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

fn workload_tree(out: &mut String, w: &WorkloadView, more: &[&str], last: bool) {
    let (branch, indent) = if last { ("└─", "   ") } else { ("├─", "│  ") };
    let port = w.container_port.map(|p| format!(" port {p}")).unwrap_or_default();
    let _ = writeln!(out, "{branch} workload {}{port}: {}", w.workload, w.decision);
    let m = &w.mtls;
    let peer = m.peer.as_deref().map(|p| format!("; peer {p}")).unwrap_or_default();
    let connects = if m.connects { "" } else { "; the connection fails" };
    let reason = m.client_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    let mut rows = vec![(
        "mTLS".to_string(),
        String::new(),
        if m.mode == MtlsMode::NoSidecar.as_str() {
            format!(
                "none: the server has no sidecar; client sends {}{reason}{peer}{connects}",
                m.client_sends
            )
        } else {
            format!(
                "{} by {}; client sends {}{reason}{peer}{connects}",
                m.mode, m.decided_by, m.client_sends
            )
        },
    )];
    for stage in [Action::Custom, Action::Deny, Action::Allow] {
        let entries: Vec<&ChainView> =
            w.chain.iter().filter(|e| e.action == stage.to_string()).collect();
        if entries.is_empty() {
            rows.push((stage.to_string(), "(none)".to_string(), String::new()));
        }
        for e in entries {
            rows.push((stage.to_string(), format!("{}/{}", e.namespace, e.name), mark(w, e)));
        }
    }
    for e in w.chain.iter().filter(|e| e.action == Action::Audit.to_string()) {
        rows.push(("AUDIT".to_string(), format!("{}/{}", e.namespace, e.name), e.result.clone()));
    }
    if !more.is_empty() {
        rows.push(("same on".to_string(), more.join(", "), String::new()));
    }
    let width = rows.iter().map(|(_, n, _)| n.chars().count()).max().unwrap_or(0);
    for (i, (label, name, text)) in rows.iter().enumerate() {
        let twig = if i + 1 == rows.len() { "└─" } else { "├─" };
        let line = match name.is_empty() {
            true => format!("{indent}{twig} {label:<7} {text}"),
            false => format!("{indent}{twig} {label:<7} {name:<width$}  {text}"),
        };
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn mark(w: &WorkloadView, e: &ChainView) -> String {
    let decides = w.decided_by.namespace.as_deref() == Some(e.namespace.as_str())
        && w.decided_by.name.as_deref() == Some(e.name.as_str());
    if decides { format!("{}  <- decides", e.result) } else { e.result.clone() }
}

/// The short answer of a batch query.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub line: usize,
    pub query: String,
    pub decision: &'static str,
    pub decided_by: DecidedBy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtls: Option<&'static str>,
    pub consistent: bool,
}

impl Summary {
    /// The summary of a verdict.
    pub fn new(line: usize, query: &str, v: &Verdict) -> Self {
        Summary {
            line,
            query: query.to_string(),
            decision: v.decision.as_str(),
            decided_by: DecidedBy::of_verdict(v),
            mtls: v.mtls.map(|m| m.as_str()),
            consistent: v.consistent,
        }
    }
}

/// `DECISION<TAB>QUERY<TAB>DECIDED BY`.
pub fn text_line(out: &mut String, query: &str, v: &Verdict) {
    let by = DecidedBy::of_verdict(v);
    let _ = writeln!(out, "{}\t{query}\t{}", v.decision.as_str(), by.text);
}

/// One JSON object per line.
pub fn json_line(
    out: &mut String,
    line: usize,
    query: &str,
    v: &Verdict,
) -> serde_json::Result<()> {
    out.push_str(&serde_json::to_string(&Summary::new(line, query, v))?);
    out.push('\n');
    Ok(())
}
