//! The matrix itself: for each Service port in scope, the callers it can tell apart
//! ([`super::classes`]), one `authz::evaluate` per class with a representative caller, and a
//! lookup from any row to its class's answer. Destinations are evaluated on every core.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::callers::{Caller, Identities, Row};
use super::classes::{Mentions, RuleNamespaces, Wild, signatures};
use crate::authz::policy::applicable_policies;
use crate::authz::request::resolve_caller;
use crate::authz::{self, Decision, Request, RequestError, Target};
use crate::commands::can_output::DecidedBy;
use crate::mesh::host::service_fqdn;
use crate::mesh::resource::Origin;
use crate::mesh::snapshot::Snapshot;

/// What every pair is asked: the representative request.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub method: Option<String>,
    pub path: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Only Service ports with this number.
    pub port: Option<u16>,
}

impl Probe {
    /// `GET /`, as the request of HTTP ports is described.
    pub fn describe(&self) -> String {
        let method = self.method.as_deref().unwrap_or("GET");
        format!("{method} {}", self.path.as_deref().unwrap_or("/"))
    }
}

/// Which destinations, and which callers get rows of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespace(String),
}

/// One Service port.
#[derive(Debug, Clone)]
pub struct Column {
    /// `ns/svc:port`.
    pub id: String,
    pub namespace: String,
    pub service: String,
    pub port: u16,
    pub port_name: Option<String>,
    /// `HTTP` or `TCP`: how the sidecar handles the port.
    pub protocol: &'static str,
    pub workloads: usize,
    index: u32,
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Cell {
    pub decision: Decision,
    pub decided_by: DecidedBy,
    /// `decided_by` as JSON.
    pub by_json: String,
    /// The deciding policy in a few words.
    pub edge: String,
    pub consistent: bool,
}

impl Cell {
    fn of(v: &authz::Verdict) -> Cell {
        let decided_by = DecidedBy::of_verdict(v);
        let edge = match (decided_by.kind, &decided_by.namespace, &decided_by.name) {
            ("policy", Some(ns), Some(name)) => format!("{ns}/{name}"),
            ("peerauthentication", Some(ns), Some(name)) => format!("mTLS {ns}/{name}"),
            ("destinationrule", Some(ns), Some(name)) => format!("TLS {ns}/{name}"),
            ("no-policy", ..) => "no policy".into(),
            ("no-allow-policy-matched", ..) => "no ALLOW policy matched".into(),
            _ => "rejected".into(),
        };
        let by_json = serde_json::to_string(&decided_by).unwrap_or_else(|_| "null".into());
        Cell { decision: v.decision, decided_by, by_json, edge, consistent: v.consistent }
    }

    fn same(&self, other: &Cell) -> bool {
        self.decision == other.decision
            && self.consistent == other.consistent
            && self.decided_by.text == other.decided_by.text
    }
}

/// The answers at one destination, by class of caller.
#[derive(Debug, Clone)]
pub struct Classes {
    cells: Vec<Cell>,
    /// Identities named by the policies, each its own class.
    named: Vec<(u32, u32)>,
    /// `(namespace, signature)` of the other identities in named namespaces.
    by_ns: Vec<((u32, u32), u32)>,
    /// Signature of the identities in no named namespace.
    rest: Vec<(u32, u32)>,
    signatures: Option<Arc<Vec<u32>>>,
    no_proxy: u32,
    ingress: u32,
    /// Namespaces the policies name (not those a DestinationRule sets apart).
    named_namespaces: Vec<u32>,
    /// Whether the policies test addresses, which identities do not carry.
    pub addresses: bool,
}

impl Classes {
    /// The answer for an identity (with or without a proxy).
    fn of_identity(&self, ids: &Identities, i: u32) -> u32 {
        let identity = &ids.list[i as usize];
        if !identity.proxy {
            return self.no_proxy;
        }
        if let Ok(k) = self.named.binary_search_by_key(&i, |e| e.0) {
            return self.named[k].1;
        }
        let sig = self.signatures.as_ref().map_or(0, |s| s[i as usize]);
        if let Ok(k) = self.by_ns.binary_search_by_key(&(identity.ns, sig), |e| e.0) {
            return self.by_ns[k].1;
        }
        let k = self.rest.binary_search_by_key(&sig, |e| e.0);
        self.rest[k.expect("every identity's class was evaluated")].1
    }
}

/// Callers by destination, with their answers.
pub struct Matrix {
    pub identities: Identities,
    pub rows: Vec<Row>,
    pub columns: Vec<Column>,
    classes: Vec<Classes>,
    /// Services in scope with nothing behind them (`ns/name`), left out.
    pub skipped: Vec<String>,
    /// The identity `ingress` resolves to, and whether it was assumed.
    pub ingress: (String, bool),
    /// That identity among [`Matrix::identities`], when a workload runs it: the `ingress` row
    /// stands for it.
    pub ingress_identity: Option<u32>,
    pub scope: Scope,
}

impl Matrix {
    /// Computes the matrix.
    ///
    /// # Errors
    ///
    /// Fails only if the evaluator cannot find a destination it was handed.
    pub fn compute(
        snapshot: &Snapshot,
        scope: &Scope,
        probe: &Probe,
    ) -> Result<Matrix, RequestError> {
        let identities = Identities::of(snapshot);
        let (columns, skipped) = columns(snapshot, scope, probe);
        let gateway = resolve_caller(snapshot, &authz::Caller::IngressGateway)?;
        let ingress_account = gateway.service_account.clone().unwrap_or_default();
        let ingress = (format!("{}/{ingress_account}", gateway.namespace), gateway.inferred);

        let ctx = Context {
            snapshot,
            ids: &identities,
            probe,
            rules: RuleNamespaces::of(snapshot),
            trust_domains: snapshot
                .mesh()
                .trust_domains()
                .into_iter()
                .map(str::to_string)
                .collect(),
            signatures: Mutex::new(HashMap::new()),
        };
        let classes = ctx.all(&columns)?;
        let ingress_identity = identities.proxied(&gateway.namespace, &ingress_account);
        let rows = rows(&identities, &classes, scope, ingress_identity);
        Ok(Matrix {
            identities,
            rows,
            columns,
            classes,
            skipped,
            ingress,
            ingress_identity,
            scope: scope.clone(),
        })
    }

    /// The answer for a row and a column.
    pub fn cell(&self, row: usize, column: usize) -> &Cell {
        self.cell_of(&self.rows[row].caller, column)
    }

    /// The answer for any caller, listed as a row or not, and a column.
    pub fn cell_of(&self, caller: &Caller, column: usize) -> &Cell {
        let classes = &self.classes[column];
        let k = match caller {
            Caller::Identity(i) => classes.of_identity(&self.identities, *i),
            Caller::Others { rep, .. } => classes.of_identity(&self.identities, *rep),
            Caller::Ingress => classes.ingress,
            Caller::Plaintext => classes.no_proxy,
        };
        &classes.cells[k as usize]
    }

    /// Whether an identity is in scope: every identity for `-A`, those of the namespace for
    /// `-n`.
    pub fn in_scope(&self, identity: u32) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Namespace(ns) => self.identities.list[identity as usize].namespace == *ns,
        }
    }

    /// Whether any destination's policies test addresses.
    pub fn tests_addresses(&self) -> bool {
        self.classes.iter().any(|c| c.addresses)
    }

    /// How many evaluations the matrix took.
    pub fn evaluations(&self) -> usize {
        self.classes.iter().map(|c| c.cells.len()).sum()
    }

    /// The answers at a column, by class, to compare two matrices over the same identities.
    pub fn classes(&self, column: usize) -> &Classes {
        &self.classes[column]
    }
}

/// Whether two columns over the same identities give every class the same decision.
pub fn same_decisions(a: &Classes, b: &Classes) -> bool {
    let decisions = |c: &Classes| -> Vec<Decision> {
        c.named
            .iter()
            .map(|e| e.1)
            .chain(c.by_ns.iter().map(|e| e.1))
            .chain(c.rest.iter().map(|e| e.1))
            .chain([c.no_proxy, c.ingress])
            .map(|k| c.cells[k as usize].decision)
            .collect()
    };
    let keys = |c: &Classes| {
        (
            c.named.iter().map(|e| e.0).collect::<Vec<_>>(),
            c.by_ns.iter().map(|e| e.0).collect::<Vec<_>>(),
            c.rest.iter().map(|e| e.0).collect::<Vec<_>>(),
        )
    };
    let same_signatures = match (&a.signatures, &b.signatures) {
        (None, None) => true,
        (Some(x), Some(y)) => Arc::ptr_eq(x, y) || x == y,
        _ => false,
    };
    same_signatures && keys(a) == keys(b) && decisions(a) == decisions(b)
}

/// The Service ports in scope, sorted, and the Services left out for having no workloads.
/// Services the offline defaults assumed are no destinations: the files did not ask about them.
fn columns(snapshot: &Snapshot, scope: &Scope, probe: &Probe) -> (Vec<Column>, Vec<String>) {
    let services = snapshot.services();
    let mut ids: Vec<u32> = match scope {
        Scope::All => (0..services.len() as u32).collect(),
        Scope::Namespace(ns) => services.ids_in(ns).to_vec(),
    };
    ids.sort_by_cached_key(|a| services.at(*a).metadata.key());
    let mut columns = Vec::new();
    let mut skipped = Vec::new();
    for id in ids {
        let svc = services.at(id);
        // Assumed for files (the ingress gateway's Service), not the user's.
        if svc.origin == Origin::Default {
            continue;
        }
        let ports: Vec<_> =
            svc.spec.ports.iter().filter(|p| probe.port.is_none_or(|n| n == p.port)).collect();
        if ports.is_empty() {
            continue;
        }
        let workloads = snapshot.workloads_for_service(id).len();
        if workloads == 0 {
            skipped.push(svc.metadata.key());
            continue;
        }
        for p in ports {
            let (ns, name) = (&svc.metadata.namespace, &svc.metadata.name);
            columns.push(Column {
                id: format!("{ns}/{name}:{}", p.port),
                namespace: ns.clone(),
                service: name.clone(),
                port: p.port,
                port_name: p.name.clone(),
                protocol: if p.istio_protocol().is_tcp() { "TCP" } else { "HTTP" },
                workloads,
                index: id,
            });
        }
    }
    (columns, skipped)
}

/// The rows: identities in scope, then (for a namespace) the identities outside it: those
/// the policies name, by identity or namespace, each get a row; of the rest, the largest group
/// that gets the same answers everywhere shares one `others` row, and each of the others gets
/// its own. Then ingress and plaintext. The ingress gateway's own identity is the `ingress`
/// row.
fn rows(ids: &Identities, classes: &[Classes], scope: &Scope, ingress: Option<u32>) -> Vec<Row> {
    let inside = |i: u32| match scope {
        Scope::All => true,
        Scope::Namespace(ns) => ids.list[i as usize].namespace == *ns,
    };
    let mut listed = Vec::new();
    let mut groups: HashMap<Vec<u32>, Vec<u32>> = HashMap::new();
    for i in 0..ids.list.len() as u32 {
        if Some(i) == ingress {
            continue;
        }
        let named = || {
            let ns = ids.list[i as usize].ns;
            (classes.iter())
                .any(|c| c.named.iter().any(|e| e.0 == i) || c.named_namespaces.contains(&ns))
        };
        if inside(i) || (ids.list[i as usize].proxy && named()) {
            listed.push(i);
        } else if ids.list[i as usize].proxy {
            let answers = classes.iter().map(|c| c.of_identity(ids, i)).collect();
            groups.entry(answers).or_default().push(i);
        }
        // Outside without a proxy: calls as plaintext does, whose row stands for it.
    }
    let largest =
        groups.values().filter(|g| g.len() > 1).max_by_key(|g| (g.len(), std::cmp::Reverse(g[0])));
    let others = largest.map(|g| (g[0], g.len()));
    let singles = groups.values().filter(|g| others.is_none_or(|(rep, _)| g[0] != rep));
    listed.extend(singles.flatten());
    listed.sort_unstable();
    let mut rows: Vec<Row> = listed.into_iter().map(|i| Row::identity(ids, i)).collect();
    if let Some((rep, count)) = others {
        rows.push(Row {
            id: "others".into(),
            label: format!("others ({count} identities)"),
            caller: Caller::Others { rep, count },
        });
    }
    rows.extend(Row::outside());
    rows
}

struct Context<'a> {
    snapshot: &'a Snapshot,
    ids: &'a Identities,
    probe: &'a Probe,
    rules: RuleNamespaces,
    trust_domains: Vec<String>,
    /// Signatures by set of wildcard values, computed once per set.
    signatures: Mutex<HashMap<Vec<Wild>, Arc<Vec<u32>>>>,
}

impl Context<'_> {
    /// Every column's classes, on every core.
    fn all(&self, columns: &[Column]) -> Result<Vec<Classes>, RequestError> {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(column) = columns.get(i) else { return done };
                done.push((i, self.column(column)));
            }
        };
        let mut results: Vec<(usize, Result<Classes, RequestError>)> = if workers < 2 {
            work()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    fn column(&self, column: &Column) -> Result<Classes, RequestError> {
        let (snapshot, ids) = (self.snapshot, self.ids);
        let table = snapshot.authorization_policies();
        let mut mentions = Mentions::default();
        let mut seen = BTreeSet::new();
        for w in snapshot.workloads_for_service(column.index) {
            for p in applicable_policies(snapshot, &w) {
                if seen.insert(p) {
                    mentions.add_policy(table.at(p));
                }
            }
        }
        let host = service_fqdn(&column.service, &column.namespace, snapshot.cluster_domain());
        let named: BTreeSet<u32> =
            mentions.identities.iter().filter_map(|(ns, sa)| ids.proxied(ns, sa)).collect();
        let namespaces: BTreeSet<u32> = (mentions.namespaces.iter())
            .chain(self.rules.for_host(&host))
            .filter_map(|ns| ids.ns_id(ns))
            .collect();
        let sigs = (!mentions.wild.is_empty()).then(|| self.signatures_of(&mentions.wild));

        // One representative per class: the first identity found in it.
        let mut reps: Vec<(Key, u32)> = named.iter().map(|&i| (Key::Named(i), i)).collect();
        match &sigs {
            None => {
                for &ns in &namespaces {
                    if let Some(i) = ids.proxied_in(ns).find(|i| !named.contains(i)) {
                        reps.push((Key::Namespace(ns, 0), i));
                    }
                }
                let unnamed =
                    (0..ids.namespaces.len() as u32).filter(|ns| !namespaces.contains(ns));
                if let Some(i) =
                    unnamed.flat_map(|ns| ids.proxied_in(ns)).find(|i| !named.contains(i))
                {
                    reps.push((Key::Rest(0), i));
                }
            }
            Some(sigs) => {
                let mut seen: HashMap<Key, ()> = HashMap::new();
                for (i, id) in ids.list.iter().enumerate() {
                    let i = i as u32;
                    if !id.proxy || named.contains(&i) {
                        continue;
                    }
                    let sig = sigs[i as usize];
                    let key = match namespaces.contains(&id.ns) {
                        true => Key::Namespace(id.ns, sig),
                        false => Key::Rest(sig),
                    };
                    if seen.insert(key, ()).is_none() {
                        reps.push((key, i));
                    }
                }
            }
        }

        let mut classes = Classes {
            cells: Vec::new(),
            named: Vec::new(),
            by_ns: Vec::new(),
            rest: Vec::new(),
            signatures: sigs,
            no_proxy: 0,
            ingress: 0,
            named_namespaces: mentions.namespaces.iter().filter_map(|ns| ids.ns_id(ns)).collect(),
            addresses: mentions.addresses,
        };
        for (key, i) in reps {
            let id = &ids.list[i as usize];
            let caller = authz::Caller::Identity {
                namespace: id.namespace.clone(),
                service_account: id.service_account.clone(),
                sidecar: true,
            };
            let k = classes.intern(self.ask(caller, column)?);
            match key {
                Key::Named(i) => classes.named.push((i, k)),
                Key::Namespace(ns, sig) => classes.by_ns.push(((ns, sig), k)),
                Key::Rest(sig) => classes.rest.push((sig, k)),
            }
        }
        classes.no_proxy = classes.intern(self.ask(authz::Caller::Plaintext, column)?);
        classes.ingress = classes.intern(self.ask(authz::Caller::IngressGateway, column)?);
        classes.by_ns.sort_by_key(|e| e.0);
        classes.rest.sort_by_key(|e| e.0);
        Ok(classes)
    }

    fn ask(&self, from: authz::Caller, column: &Column) -> Result<Cell, RequestError> {
        let to = Target::Service {
            namespace: column.namespace.clone(),
            name: column.service.clone(),
            port: column.port,
        };
        let mut request = Request::new(from, to);
        request.method.clone_from(&self.probe.method);
        request.path.clone_from(&self.probe.path);
        request.headers.clone_from(&self.probe.headers);
        Ok(Cell::of(&authz::evaluate(self.snapshot, &request)?))
    }

    fn signatures_of(&self, wild: &BTreeSet<Wild>) -> Arc<Vec<u32>> {
        let key: Vec<Wild> = wild.iter().cloned().collect();
        let mut cache = self.signatures.lock().unwrap_or_else(|e| e.into_inner());
        let sigs = cache
            .entry(key)
            .or_insert_with_key(|k| Arc::new(signatures(self.ids, k, &self.trust_domains)));
        Arc::clone(sigs)
    }
}

impl Classes {
    fn intern(&mut self, cell: Cell) -> u32 {
        if let Some(k) = self.cells.iter().position(|c| c.same(&cell)) {
            return k as u32;
        }
        self.cells.push(cell);
        self.cells.len() as u32 - 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Named(u32),
    Namespace(u32, u32),
    Rest(u32),
}
