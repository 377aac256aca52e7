//! Request paths as a sidecar sees them: normalized per mesh config, with
//! the query removed, and matched against policy paths and `{*}` / `{**}`
//! templates.
//!
//! Normalization follows
//! <https://istio.io/latest/docs/reference/config/security/normalization/>:
//! `%00` is always rejected; `BASE` decodes percent-encoded unreserved
//! characters (`%2D %2E %30-%39 %41-%5A %5F %61-%7A %7E`, once, any case),
//! turns `\` into `/` and resolves `.` and `..` segments (RFC 3986);
//! `MERGE_SLASHES` then merges repeated slashes; `DECODE_AND_MERGE_SLASHES`
//! first decodes `%2F` and `%5C`. Templates follow Envoy's URI template
//! matcher, as Istio generates it (`pilot/pkg/security/authz/matcher/template.go`):
//! `{*}` matches one non-empty path segment, `{**}` any remainder (including
//! `/`).

use crate::mesh::mesh_config::PathNormalization;

/// The path normalized for authorization, without query or fragment.
/// `None` when the proxy rejects the request outright (a `%00` in the path).
pub fn normalize_path(raw: &str, mode: PathNormalization) -> Option<String> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    if contains_nul_escape(path) {
        return None;
    }
    if mode == PathNormalization::None {
        return Some(path.to_string());
    }
    let mut p = if mode == PathNormalization::DecodeAndMergeSlashes {
        decode(path, |b| matches!(b, b'/' | b'\\'))
    } else {
        path.to_string()
    };
    p = decode(&p, is_unreserved);
    p = p.replace('\\', "/");
    p = remove_dot_segments(&p);
    if matches!(mode, PathNormalization::MergeSlashes | PathNormalization::DecodeAndMergeSlashes) {
        p = merge_slashes(&p);
    }
    Some(p)
}

fn contains_nul_escape(path: &str) -> bool {
    path.as_bytes().windows(3).any(|w| w == b"%00")
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes `%HH` escapes whose byte satisfies `keep`, once.
fn decode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(hi), Some(lo)) = (b.get(i + 1).and_then(hex), b.get(i + 2).and_then(hex))
            && keep(hi * 16 + lo)
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 section 5.2.4 for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let Some(rest) = path.strip_prefix('/') else { return path.to_string() };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => trailing_slash = i == last,
            ".." => {
                out.pop();
                trailing_slash = i == last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut result = String::with_capacity(path.len());
    for s in &out {
        result.push('/');
        result.push_str(s);
    }
    if trailing_slash || result.is_empty() {
        result.push('/');
    }
    result
}

fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut prev_slash = false;
    for c in path.chars() {
        if c == '/' && prev_slash {
            continue;
        }
        prev_slash = c == '/';
        out.push(c);
    }
    out
}

/// Whether a policy path is a URI template (contains `{*}` or `{**}`).
pub fn is_path_template(value: &str) -> bool {
    value.contains("{*}") || value.contains("{**}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Lit(u8),
    /// One or more path characters, no `/`.
    One,
    /// Zero or more path characters including `/`.
    Any,
}

/// Characters a template operator can match (Envoy's literal set).
fn is_pchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()+,;:@=".contains(&b)
}

/// Matches a normalized path against a template such as `/foo/{*}/bar/{**}`.
pub fn is_template_match(template: &str, path: &str) -> bool {
    let sanitized = template.replace("{*}", "*").replace("{**}", "**");
    let bytes = sanitized.as_bytes();
    let mut tokens = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'*' {
            if bytes.get(i + 1) == Some(&b'*') {
                tokens.push(Token::Any);
                i += 2;
            } else {
                tokens.push(Token::One);
                i += 1;
            }
        } else {
            tokens.push(Token::Lit(bytes[i]));
            i += 1;
        }
    }
    let p = path.as_bytes();
    // reach[j]: the first `t` tokens can consume exactly `j` path bytes.
    let mut reach = vec![false; p.len() + 1];
    reach[0] = true;
    for t in tokens {
        let mut next = vec![false; p.len() + 1];
        for j in 0..=p.len() {
            if !reach[j] {
                continue;
            }
            match t {
                Token::Lit(c) => {
                    if p.get(j) == Some(&c) {
                        next[j + 1] = true;
                    }
                }
                Token::One | Token::Any => {
                    if t == Token::Any {
                        next[j] = true;
                    }
                    let mut k = j;
                    while k < p.len() && (is_pchar(p[k]) || (t == Token::Any && p[k] == b'/')) {
                        k += 1;
                        next[k] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[p.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(p: &str) -> String {
        normalize_path(p, PathNormalization::Base).unwrap()
    }

    #[test]
    fn base_normalization() {
        assert_eq!(base("/a/../b"), "/b");
        assert_eq!(base("/public/./data/abc/../xyz"), "/public/data/xyz");
        assert_eq!(base("\\da"), "/da");
        assert_eq!(base("/some\\data"), "/some/data");
        assert_eq!(base("/%61%62%63"), "/abc");
        assert_eq!(base("/a/%2e%2E/b"), "/b");
        assert_eq!(base("/a%2fb"), "/a%2fb");
        assert_eq!(base("/data//secret"), "/data//secret");
        assert_eq!(base("/ip?x=/admin"), "/ip");
        assert_eq!(base("/../../etc"), "/etc");
        assert_eq!(base("/a/b/.."), "/a/");
        assert_eq!(base("/%252e"), "/%252e");
        assert!(normalize_path("/a%00b", PathNormalization::Base).is_none());
    }

    #[test]
    fn other_modes() {
        let m = |p, mode| normalize_path(p, mode).unwrap();
        assert_eq!(m("/data//secret", PathNormalization::MergeSlashes), "/data/secret");
        assert_eq!(
            m("/some%2fdata/%61%62%63", PathNormalization::DecodeAndMergeSlashes),
            "/some/data/abc"
        );
        assert_eq!(m("/a%5c..%5cb", PathNormalization::DecodeAndMergeSlashes), "/b");
        assert_eq!(m("/a%2f%2fb", PathNormalization::DecodeAndMergeSlashes), "/a/b");
        assert_eq!(m("/a/../b?q", PathNormalization::None), "/a/../b");
    }

    #[test]
    fn odd_paths_never_panic() {
        for p in
            ["", "%", "%2", "%zz", "%ü", "/ü/%C3%BC/..", "\\..\\", "/..", "?", "#", "/a/./../../b/"]
        {
            for mode in [
                PathNormalization::None,
                PathNormalization::Base,
                PathNormalization::DecodeAndMergeSlashes,
            ] {
                let n = normalize_path(p, mode);
                if let Some(n) = n {
                    let _ = is_template_match("/{*}/{**}", &n);
                }
            }
        }
    }

    #[test]
    fn templates() {
        assert!(is_path_template("/foo/{*}") && !is_path_template("/foo/*"));
        assert!(is_template_match("/foo/{*}", "/foo/bar"));
        assert!(!is_template_match("/foo/{*}", "/foo/bar/baz"));
        assert!(!is_template_match("/foo/{*}", "/foo/"));
        assert!(is_template_match("/foo/{**}", "/foo/bar/baz"));
        assert!(is_template_match("/foo/{**}", "/foo/"));
        assert!(!is_template_match("/foo/{**}", "/foo"));
        assert!(is_template_match("/foo/{*}/bar/{**}", "/foo/buzz/bar/baz"));
        assert!(!is_template_match("/foo/{*}/bar/{**}", "/foo/buzz/bar"));
        assert!(is_template_match("/{**}.mpd", "/a/b/c.mpd"));
        assert!(is_template_match("/foo/{*}.txt", "/foo/a.txt"));
    }
}
