//! Tests of the manifest reader: lines, lists, JSON, hostile input and plain messages.

use super::*;

fn lines(m: &Manifest) -> Vec<(u32, Option<u32>)> {
    m.documents
        .iter()
        .map(|d| match &d.origin {
            Origin::File { line, item, .. } => (*line, *item),
            _ => (0, None),
        })
        .collect()
}

#[test]
fn parser_limits_and_advice_read_plainly() {
    let deep =
        format!("a:\n{}", (1..80).map(|i| format!("{}b:\n", "  ".repeat(i))).collect::<String>());
    let err = read_manifest("deep.yaml", deep.as_bytes()).unwrap_err().to_string();
    assert!(err.ends_with(": nested deeper than 64 levels"), "{err}");
    let dup = "apiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: a}\n";
    let err = read_manifest("dup.yaml", dup.as_bytes()).unwrap_err().to_string();
    assert_eq!(err, "dup.yaml:3:1: duplicate mapping key: kind");
    let bad = "a: b: c\n";
    let err = read_manifest("bad.yaml", bad.as_bytes()).unwrap_err().to_string();
    assert!(!err.contains('\\'), "no escaped quotes: {err}");
}

#[test]
fn a_name_that_is_not_a_string_says_so() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: 12345}\n";
    let m = read_manifest("ns.yaml", text.as_bytes()).unwrap();
    assert_eq!(
        m.errors[0].to_string(),
        "ns.yaml:1: Namespace metadata.name is a number, not a string: quote it"
    );
}

#[test]
fn multi_document_yaml_keeps_start_lines() {
    let text = "# a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n\n---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n";
    let m = read_manifest("ns.yaml", text.as_bytes()).unwrap();
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    assert_eq!(lines(&m), [(3, None), (12, None)]);
}

#[test]
fn list_items_get_their_own_lines() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: b\n- 42\n";
    let m = read_manifest("l.yaml", text.as_bytes()).unwrap();
    assert_eq!(lines(&m), [(4, Some(0)), (8, Some(1))]);
    assert!(matches!(m.errors[0], ManifestError::NotAnObject { line: 12, .. }));
}

#[test]
fn json_objects_and_lists() {
    let text = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n\n{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}]}";
    let m = read_manifest("x.json", text.as_bytes()).unwrap();
    assert_eq!(lines(&m), [(1, None), (3, Some(0))]);
    let err = read_manifest("x.json", b"{\"a\": ").unwrap_err();
    assert!(matches!(err, ManifestError::Syntax { .. }), "{err}");
}

#[test]
fn json_streams_count_lines_per_document() {
    let doc = |name: &str| {
        format!(
            "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\",\n  \"metadata\": {{\"name\": \"{name}\"}}\n}}\n"
        )
    };
    let text = format!("{}\n{}  {}", doc("a"), doc("b"), doc("c"));
    let m = read_manifest("s.json", text.as_bytes()).unwrap();
    assert_eq!(lines(&m), [(1, None), (7, None), (12, None)]);
    let many: String =
        (0..20_000).map(|i| doc(&format!("n{i}")).replace('\n', "") + "\n").collect();
    let m = read_manifest("many.json", many.as_bytes()).unwrap();
    assert_eq!(m.documents.len(), 20_000);
    assert_eq!(lines(&m).last(), Some(&(20_000, None)));
}

#[test]
fn broken_documents_name_file_and_line() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n---\nkind: Namespace\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: Namespace\nmetadata: {}\n---\njust a string\n";
    let m = read_manifest("f.yaml", text.as_bytes()).unwrap();
    assert_eq!(m.documents.len(), 1);
    let msgs: Vec<String> = m.errors.iter().map(ToString::to_string).collect();
    assert_eq!(msgs[0], "f.yaml:6: document has no apiVersion and kind");
    assert_eq!(msgs[1], "f.yaml:10: Namespace has no metadata.name");
    assert_eq!(msgs[2], "f.yaml:14: document is a string, not a Kubernetes object");
    let err = read_manifest("f.yaml", b"a: b: c\n").unwrap_err().to_string();
    assert!(err.starts_with("f.yaml:1:"), "{err}");
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    let deep = "[".repeat(100_000);
    assert!(read_manifest("d.yaml", deep.as_bytes()).is_err());
    let deep_json = format!("{}{}", "{\"a\":".repeat(10_000), "1");
    assert!(read_manifest("d.json", deep_json.as_bytes()).is_err());
    let nested: String = (0..300).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    assert!(read_manifest("n.yaml", nested.as_bytes()).is_err());
    assert!(matches!(read_manifest("b", &[0xff, 0xfe, 0x00]), Err(ManifestError::NotText { .. })));
    assert!(read_manifest("b", b"\x00\x01binary").is_err());
    let dup = "apiVersion: v1\nkind: Namespace\nkind: Pod\nmetadata: {name: a}\n";
    let err = read_manifest("dup.yaml", dup.as_bytes()).unwrap_err().to_string();
    assert!(err.starts_with("dup.yaml:3:") && err.contains("duplicate"), "{err}");
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    let err = read_manifest("bomb.yaml", bomb.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("aliases expand to more than"), "{err}");
    assert!(!err.contains('{'), "no parser internals in messages: {err}");
    let err = read_manifest("r.yaml", b"a: &a [*a]\n").unwrap_err().to_string();
    assert!(
        err.ends_with(
            "an alias refers to the anchor it is inside of; YAML objects cannot contain themselves"
        ),
        "{err}"
    );
}

#[test]
fn loads_into_a_builder() {
    let text = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\nspec:\n  mtls: {mode: STRICT}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n";
    let mut b = SnapshotBuilder::new().default_namespace("shop");
    let (stored, errors) = load_manifest(&mut b, "pa.yaml", text.as_bytes()).unwrap();
    assert_eq!((stored, errors.len()), (1, 0));
    let snap = b.finish();
    let pa = snap.peer_authentications().get("shop", "default").unwrap();
    assert_eq!(pa.origin.to_string(), "pa.yaml:1");
    assert_eq!(snap.skipped_count(), 1);
}
