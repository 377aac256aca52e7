//! Unified diffs of live objects against intended ones, as `kubectl diff` shows them: YAML on
//! both sides, server-managed metadata left out.

use serde_json::Value;

/// Metadata the server owns; it would only add noise to a diff.
const SERVER_FIELDS: &[&str] =
    &["managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink"];

/// A copy of `object` without server-managed metadata and status.
pub fn strip_server_fields(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_FIELDS {
            meta.remove(*field);
        }
    }
    if let Some(map) = out.as_object_mut() {
        map.remove("status");
    }
    out
}

/// A unified diff of two objects under a `--- live/NAME`, `+++ intended/NAME` header, or an
/// empty string when they are equal.
pub fn objects(name: &str, live: Option<&Value>, intended: Option<&Value>) -> String {
    let text = |v: Option<&Value>| {
        v.map(|v| super::to_yaml(&strip_server_fields(v)).unwrap_or_default()).unwrap_or_default()
    };
    let (old, new) = (text(live), text(intended));
    if old == new {
        return String::new();
    }
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let mut out = format!("--- live/{name}\n+++ intended/{name}\n");
    out.push_str(&format!("@@ -1,{} +1,{} @@\n", old_lines.len(), new_lines.len()));
    for line in lines(&old_lines, &new_lines) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The edit script between two line lists, from their longest common subsequence.
fn lines(old: &[&str], new: &[&str]) -> Vec<String> {
    let (n, m) = (old.len(), new.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            out.push(format!(" {}", old[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("-{}", old[i]));
            i += 1;
        } else {
            out.push(format!("+{}", new[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diffs_show_changed_lines_only_as_changes() {
        let live = json!({"metadata": {"name": "a", "resourceVersion": "7"}, "spec": {"x": 1}});
        let intended = json!({"metadata": {"name": "a"}, "spec": {"x": 2}});
        let diff = objects("vs/a", Some(&live), Some(&intended));
        assert!(diff.starts_with("--- live/vs/a\n+++ intended/vs/a\n"), "{diff}");
        assert!(diff.contains("\n-  x: 1\n+  x: 2\n"), "{diff}");
        assert!(!diff.contains("resourceVersion"), "{diff}");
        assert_eq!(objects("vs/a", Some(&live), Some(&live)), "");
    }

    #[test]
    fn a_new_object_is_all_additions() {
        let diff = objects("vs/a", None, Some(&json!({"kind": "VirtualService"})));
        assert!(diff.contains("+kind: VirtualService"), "{diff}");
    }
}
