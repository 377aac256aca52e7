//! Who may call whom as a picture: Graphviz DOT and Mermaid flowcharts of callers and
//! destinations, grouped by namespace, with one edge per allowed (or changed) pair labelled by
//! the deciding policy. Every id is quoted (DOT) or generated (Mermaid), so names never break
//! the syntax.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::matrix::Node;

/// How an edge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeStyle {
    /// Allowed.
    Allow,
    /// A CUSTOM authorizer decides at run time.
    Unknown,
    /// Allowed before, not after.
    Cut,
    /// Allowed after, not before.
    Opened,
    /// Changed between DENY and UNKNOWN.
    Changed,
}

impl EdgeStyle {
    fn color(self) -> &'static str {
        match self {
            EdgeStyle::Allow | EdgeStyle::Opened => "#2e7d32",
            EdgeStyle::Unknown | EdgeStyle::Changed => "#b26a00",
            EdgeStyle::Cut => "#c62828",
        }
    }

    fn dashed(self) -> bool {
        matches!(self, EdgeStyle::Unknown | EdgeStyle::Cut | EdgeStyle::Changed)
    }

    fn prefix(self) -> &'static str {
        match self {
            EdgeStyle::Allow => "",
            EdgeStyle::Unknown => "UNKNOWN: ",
            EdgeStyle::Cut => "cut: ",
            EdgeStyle::Opened => "opened: ",
            EdgeStyle::Changed => "changed: ",
        }
    }
}

/// One edge, from a caller to a destination (indexes into the node lists).
#[derive(Debug, Clone, Copy)]
pub struct Edge<'a> {
    pub from: usize,
    pub to: usize,
    pub label: &'a str,
    pub style: EdgeStyle,
}

/// The nodes of a picture and its title.
pub struct Picture<'a> {
    pub title: &'a str,
    pub callers: &'a [Node],
    pub destinations: &'a [Node],
}

/// Caller and destination indexes by namespace (sorted), and the callers outside any.
type Groups = (BTreeMap<String, (Vec<usize>, Vec<usize>)>, Vec<usize>);

fn groups(p: &Picture<'_>) -> Groups {
    let mut by_ns: BTreeMap<String, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    let mut outside = Vec::new();
    for (i, n) in p.callers.iter().enumerate() {
        match &n.namespace {
            Some(ns) => by_ns.entry(ns.clone()).or_default().0.push(i),
            None => outside.push(i),
        }
    }
    for (i, n) in p.destinations.iter().enumerate() {
        let ns = n.namespace.clone().unwrap_or_default();
        by_ns.entry(ns).or_default().1.push(i);
    }
    (by_ns, outside)
}

/// DOT's quoted string: `"` and `\` escaped, newlines as `\n`.
pub fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dot_caller_id(n: &Node) -> String {
    dot_quote(&format!("from:{}", n.id))
}

fn dot_destination_id(n: &Node) -> String {
    dot_quote(&format!("to:{}", n.id))
}

/// Writes a Graphviz digraph: a cluster per namespace holding its callers (ellipses) and
/// destinations (boxes), callers outside the mesh on their own, then the edges.
pub fn dot(
    out: &mut dyn Write,
    p: &Picture<'_>,
    edges: &mut dyn Iterator<Item = Edge<'_>>,
) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    writeln!(w, "digraph reachability {{")?;
    writeln!(
        w,
        "  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label={}];",
        dot_quote(p.title)
    )?;
    writeln!(w, "  node [fontname=\"Helvetica\", fontsize=11];")?;
    writeln!(w, "  edge [fontname=\"Helvetica\", fontsize=9];")?;
    let (by_ns, outside) = groups(p);
    for (i, (ns, (callers, destinations))) in by_ns.iter().enumerate() {
        writeln!(w, "  subgraph {} {{", dot_quote(&format!("cluster_{i}")))?;
        writeln!(w, "    label={}; style=rounded; color=\"#9e9e9e\";", dot_quote(ns))?;
        for &c in callers {
            let n = &p.callers[c];
            writeln!(
                w,
                "    {} [label={}, shape=ellipse];",
                dot_caller_id(n),
                dot_quote(&n.label)
            )?;
        }
        for &d in destinations {
            let n = &p.destinations[d];
            let label = format!("{}\n{}", short(n), n.detail);
            writeln!(w, "    {} [label={}, shape=box];", dot_destination_id(n), dot_quote(&label))?;
        }
        writeln!(w, "  }}")?;
    }
    for &c in &outside {
        let n = &p.callers[c];
        writeln!(
            w,
            "  {} [label={}, shape=ellipse, style=dashed];",
            dot_caller_id(n),
            dot_quote(&n.label)
        )?;
    }
    for e in edges {
        let style = if e.style.dashed() { ", style=dashed" } else { "" };
        writeln!(
            w,
            "  {} -> {} [label={}, color={}, fontcolor={}{style}];",
            dot_caller_id(&p.callers[e.from]),
            dot_destination_id(&p.destinations[e.to]),
            dot_quote(&format!("{}{}", e.style.prefix(), e.label)),
            dot_quote(e.style.color()),
            dot_quote(e.style.color()),
        )?;
    }
    writeln!(w, "}}")?;
    w.flush()
}

/// A destination without its namespace, which the group already shows: `cart:80`.
fn short(n: &Node) -> &str {
    match &n.namespace {
        Some(ns) => {
            n.id.strip_prefix(ns.as_str()).and_then(|r| r.strip_prefix('/')).unwrap_or(&n.id)
        }
        None => &n.id,
    }
}

/// Mermaid's quoted text: `"` as `#quot;`, and no line breaks.
pub fn mermaid_quote(s: &str) -> String {
    let text: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect::<String>()
        .replace('"', "#quot;");
    format!("\"{text}\"")
}

/// Writes a Mermaid flowchart: a subgraph per namespace, callers as stadiums (`c0`...),
/// destinations as boxes (`d0`...), then the edges and their colours.
pub fn mermaid(
    out: &mut dyn Write,
    p: &Picture<'_>,
    edges: &mut dyn Iterator<Item = Edge<'_>>,
) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    writeln!(w, "---")?;
    writeln!(w, "title: {}", mermaid_quote(p.title))?;
    writeln!(w, "---")?;
    writeln!(w, "flowchart LR")?;
    let (by_ns, outside) = groups(p);
    for (i, (ns, (callers, destinations))) in by_ns.iter().enumerate() {
        writeln!(w, "  subgraph ns{i}[{}]", mermaid_quote(ns))?;
        for &c in callers {
            writeln!(w, "    c{c}([{}])", mermaid_quote(&p.callers[c].label))?;
        }
        for &d in destinations {
            let n = &p.destinations[d];
            writeln!(w, "    d{d}[{}]", mermaid_quote(&format!("{} {}", short(n), n.detail)))?;
        }
        writeln!(w, "  end")?;
    }
    for &c in &outside {
        writeln!(w, "  c{c}([{}])", mermaid_quote(&p.callers[c].label))?;
    }
    let mut by_style: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    for (i, e) in edges.enumerate() {
        let arrow = if e.style.dashed() { "-.->" } else { "-->" };
        let label = mermaid_quote(&format!("{}{}", e.style.prefix(), e.label));
        writeln!(w, "  c{} {arrow}|{label}| d{}", e.from, e.to)?;
        by_style.entry(e.style.color()).or_default().push(i);
    }
    for (color, indexes) in by_style {
        // Long lists are split so each line stays short.
        for chunk in indexes.chunks(64) {
            let list: Vec<String> = chunk.iter().map(usize::to_string).collect();
            writeln!(w, "  linkStyle {} stroke:{color},color:{color}", list.join(","))?;
        }
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, ns: Option<&str>) -> Node {
        Node { id: id.into(), label: id.into(), namespace: ns.map(str::to_string), detail: "HTTP" }
    }

    fn picture_nodes() -> (Vec<Node>, Vec<Node>) {
        (
            vec![node("shop/cart", Some("shop")), node("plaintext", None)],
            vec![node("shop/web:80", Some("shop")), node("pay/api:8080", Some("pay"))],
        )
    }

    fn edges() -> Vec<Edge<'static>> {
        vec![
            Edge { from: 0, to: 0, label: "shop/allow \"x\"", style: EdgeStyle::Allow },
            Edge { from: 1, to: 1, label: "no policy", style: EdgeStyle::Cut },
        ]
    }

    #[test]
    fn dot_quotes_every_id_and_groups_by_namespace() {
        let (callers, destinations) = picture_nodes();
        let p = Picture { title: "t", callers: &callers, destinations: &destinations };
        let mut out = Vec::new();
        dot(&mut out, &p, &mut edges().into_iter()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("subgraph \"cluster_1\" {\n    label=\"shop\";"), "{text}");
        assert!(text.contains("\"to:shop/web:80\" [label=\"web:80\\nHTTP\", shape=box];"));
        assert!(text.contains("label=\"shop/allow \\\"x\\\"\""), "{text}");
        assert!(text.contains("\"from:plaintext\" -> \"to:pay/api:8080\""));
        assert!(text.contains("style=dashed];"));
    }

    #[test]
    fn mermaid_uses_generated_ids_and_quoted_labels() {
        let (callers, destinations) = picture_nodes();
        let p = Picture { title: "t", callers: &callers, destinations: &destinations };
        let mut out = Vec::new();
        mermaid(&mut out, &p, &mut edges().into_iter()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "flowchart LR\n  subgraph ns0[\"pay\"]\n    d1[\"api:8080 HTTP\"]\n  end"
            )
        );
        assert!(text.contains("  c0 -->|\"shop/allow #quot;x#quot;\"| d0"), "{text}");
        assert!(text.contains("  c1 -.->|\"cut: no policy\"| d1"));
        assert!(text.contains("  linkStyle 1 stroke:#c62828"));
    }
}
