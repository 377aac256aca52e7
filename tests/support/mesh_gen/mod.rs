//! A synthetic but realistic mesh for scale tests and benchmarks, the same for a given seed.
//!
//! Each namespace holds a handful of apps. An app has a ServiceAccount, a Service with named
//! ports, a Deployment with its current ReplicaSet and the Pods it owns (injected: the
//! `sidecar.istio.io/status` annotation, an `istio-proxy` container and `istio-init`), and a
//! Secret per namespace. Istio config sits beside them: VirtualServices (one bound to the
//! shared ingress Gateway, one splitting traffic between subsets, one with retries and a
//! timeout), DestinationRules defining those subsets and traffic policies, one
//! PeerAuthentication per namespace and AuthorizationPolicies whose principals name
//! accounts that exist. `istio-system` holds the control plane, the ingress gateway, the mesh
//! config and the injector webhook.
//!
//! A few namespaces carry deliberate mistakes, listed in [`Summary::mistakes`]: a
//! VirtualService bound to a Gateway that does not exist, a route to a subset no
//! DestinationRule defines, a pod without a sidecar in an injected namespace, and a Service
//! port whose name gives no protocol.
//!
//! ```ignore
//! let summary = mesh_gen::seed(&server, &Spec::of(Size::Small));
//! assert_eq!(summary.count("pods"), server.objects("pods", None).len());
//! ```

mod istio;
mod pod;
mod workloads;

use std::collections::BTreeMap;

use serde_json::Value;

use super::TestServer;

pub use workloads::{APPS, is_injected, namespace_name};

/// The seed every size uses unless told otherwise.
pub const SEED: u64 = 0x5eed_d00d_2024_0001;

/// What `check` reads, in the order it starts the lists: (API group, plural, whether as
/// metadata only). The ConfigMap list is of the mesh config alone, in `istio-system`.
pub const CHECK_KINDS: &[(&str, &str, bool)] = &[
    ("", "namespaces", false),
    ("", "services", false),
    ("", "pods", true),
    ("apps", "replicasets", true),
    ("", "serviceaccounts", true),
    ("apps", "deployments", false),
    ("apps", "statefulsets", false),
    ("apps", "daemonsets", false),
    ("", "secrets", true),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", true),
    ("", "configmaps", false),
    ("networking.istio.io", "gateways", false),
    ("networking.istio.io", "virtualservices", false),
    ("networking.istio.io", "destinationrules", false),
    ("networking.istio.io", "serviceentries", false),
    ("networking.istio.io", "sidecars", false),
    ("security.istio.io", "peerauthentications", false),
    ("security.istio.io", "authorizationpolicies", false),
    ("security.istio.io", "requestauthentications", false),
    ("gateway.networking.k8s.io", "gateways", false),
    ("gateway.networking.k8s.io", "httproutes", false),
];

/// A named size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 100 namespaces.
    Small,
    /// 1,000 namespaces: about 10k Services, 30k Pods, 5k AuthorizationPolicies.
    Large,
    /// 10,000 namespaces: ten times `Large`.
    XLarge,
}

impl Size {
    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Large => "large",
            Size::XLarge => "xlarge",
        }
    }

    pub fn parse(s: &str) -> Option<Size> {
        [Size::Small, Size::Large, Size::XLarge].into_iter().find(|z| z.name() == s)
    }

    pub fn namespaces(self) -> usize {
        match self {
            Size::Small => 100,
            Size::Large => 1_000,
            Size::XLarge => 10_000,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Application namespaces (besides `istio-system`).
    pub namespaces: usize,
    pub seed: u64,
}

impl Spec {
    pub fn of(size: Size) -> Spec {
        Spec { namespaces: size.namespaces(), seed: SEED }
    }
}

/// One deliberate mistake: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mistake {
    /// `VirtualService`, `Pod`, `Service`...
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub what: &'static str,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects by plural resource name (`pods`, `virtualservices`...).
    pub counts: BTreeMap<&'static str, usize>,
    pub mistakes: Vec<Mistake>,
}

impl Summary {
    /// Objects generated of one plural resource name.
    pub fn count(&self, plural: &str) -> usize {
        self.counts.get(plural).copied().unwrap_or(0)
    }

    /// Every object generated.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

/// Generates the mesh and stores it in `server`, straight into its store.
pub fn seed(server: &TestServer, spec: &Spec) -> Summary {
    generate(spec, |obj| server.insert(obj))
}

/// Generates the mesh, handing each object to `sink` (namespaces before what they hold).
pub fn generate(spec: &Spec, mut sink: impl FnMut(Value)) -> Summary {
    let mut out = Out { sink: &mut sink, summary: Summary::default() };
    let mut rng = Rng::new(spec.seed);
    istio::control_plane(&mut out);
    let mistakes = Mistakes::pick(&mut rng, spec.namespaces);
    for index in 0..spec.namespaces {
        let ns = workloads::NamespacePlan::new(index, &mut rng, &mistakes);
        workloads::namespace(&mut out, &ns, &mut rng);
        istio::namespace_policies(&mut out, &ns, &mut rng);
    }
    out.summary
}

/// Where generated objects go, counted by kind.
pub(crate) struct Out<'a> {
    sink: &'a mut dyn FnMut(Value),
    pub summary: Summary,
}

impl Out<'_> {
    pub fn emit(&mut self, plural: &'static str, obj: Value) {
        *self.summary.counts.entry(plural).or_default() += 1;
        (self.sink)(obj);
    }

    pub fn mistake(&mut self, kind: &'static str, ns: &str, name: &str, what: &'static str) {
        self.summary.mistakes.push(Mistake {
            kind,
            namespace: ns.to_string(),
            name: name.to_string(),
            what,
        });
    }
}

/// Which namespaces carry which mistake; each mistake in about one namespace in 250.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mistakes {
    pub missing_gateway: Vec<usize>,
    pub missing_subset: Vec<usize>,
    pub pod_without_sidecar: Vec<usize>,
    pub port_without_protocol: Vec<usize>,
}

impl Mistakes {
    fn pick(rng: &mut Rng, namespaces: usize) -> Mistakes {
        // Injected namespaces only, so each mistake is one in its context.
        let candidates: Vec<usize> =
            (0..namespaces).filter(|&n| workloads::is_injected(n)).collect();
        let each = (namespaces / 250).max(1).min(candidates.len());
        let pick = |rng: &mut Rng| {
            let mut pool = candidates.clone();
            let mut chosen: Vec<usize> = (0..each)
                .map(|_| pool.swap_remove(rng.below(pool.len() as u64) as usize))
                .collect();
            chosen.sort_unstable();
            chosen
        };
        Mistakes {
            missing_gateway: pick(rng),
            missing_subset: pick(rng),
            pod_without_sidecar: pick(rng),
            port_without_protocol: pick(rng),
        }
    }
}

/// SplitMix64: small, fast and the same everywhere, which is all a fixture needs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    /// `len` characters of the alphabet Kubernetes uses for generated name suffixes.
    pub fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len).map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char).collect()
    }

    /// A lowercase hexadecimal string of `len` digits.
    pub fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0')).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mesh() {
        let spec = Spec { namespaces: 3, seed: 7 };
        let mut a = Vec::new();
        let mut b = Vec::new();
        assert_eq!(generate(&spec, |o| a.push(o)), generate(&spec, |o| b.push(o)));
        assert_eq!(a, b);
    }
}
