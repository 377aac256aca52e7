//! The Krew manifest: rendered as krew-release-bot renders `krew-manifest.yaml`, pointed at
//! real archives of the built binary, and held to the rules Krew's own code applies.
//!
//! Krew cannot be installed here, so the checks restate its rules: `ValidatePlugin` and
//! `validatePlatform` in `internal/index/validation` (apiVersion, kind, safe name equal to the
//! manifest's file name, short description, `v`-prefixed semver, uri, 64-hex sha256, bin,
//! files, selectors on `os`/`arch` only), `validate-krew-manifest` (every platform matches a
//! supported os/arch, no os/arch matched twice, line lengths, a LICENSE installed), and the
//! installer's file operations (each `from` glob must match files in the archive, `bin` must
//! exist afterwards). On top, the five platforms we ship must all be covered.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use debatemesh::mesh::validate::{Operator, Requirement, Selector};
use ring::digest::{SHA256, digest};
use serde::Deserialize;

const PLUGIN: &str = "debatemesh";
const BINARY: &str = "kubectl-debatemesh";
const TAG: &str = "v0.1.0";
const RELEASES: &str = "https://github.com/debatemesh/kubectl-debatemesh/releases/download";

/// Every os/arch pair Krew installs on (`validate-krew-manifest`'s `allPlatforms`).
const KREW_PLATFORMS: [(&str, &str); 11] = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// The platforms a release must cover.
const REQUIRED: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// The names Krew accepts as a license file after installation.
const LICENSE_FILES: [&str; 8] = [
    "license",
    "license.txt",
    "license.md",
    "licenses",
    "licenses.txt",
    "licenses.md",
    "copying",
    "copying.txt",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Plugin {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    version: String,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    caveats: String,
    #[serde(default)]
    homepage: String,
    #[serde(default)]
    platforms: Vec<Platform>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Platform {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    sha256: String,
    selector: Option<LabelSelector>,
    files: Option<Vec<FileOperation>>,
    #[serde(default)]
    bin: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LabelSelector {
    match_labels: Option<BTreeMap<String, String>>,
    match_expressions: Option<Vec<MatchExpression>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchExpression {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOperation {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Maps a release asset URL to the `uri` and `sha256` to write for it.
type AssetResolver<'a> = dyn FnMut(&str) -> Result<(String, String), String> + 'a;

/// Renders the template language krew-release-bot understands: `{{ .TagName }}` and
/// `{{ addURIAndSha "URL" .TagName }}`, which becomes `uri: ...` and, four spaces in,
/// `sha256: ...`. `asset` maps a release URL to the uri and sha256 to write.
fn render(template: &str, tag: &str, asset: &mut AssetResolver<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = action_end(after).ok_or("unclosed {{ in template")?;
        let action = after[..end].trim();
        rest = &after[end + 2..];
        if action == ".TagName" {
            out.push_str(tag);
            continue;
        }
        let args =
            action.strip_prefix("addURIAndSha").ok_or(format!("unsupported {{{{ {action} }}}}"))?;
        let args = args.trim_start();
        let quoted = args.strip_prefix('"').ok_or("addURIAndSha needs a quoted URL")?;
        let close = quoted.find('"').ok_or("unterminated URL string")?;
        let (url_template, tail) = (&quoted[..close], quoted[close + 1..].trim());
        if tail != ".TagName" || url_template.contains('\\') {
            return Err(format!("addURIAndSha takes a plain URL and .TagName, got {action:?}"));
        }
        let url = render(url_template, tag, &mut |_| Err("nested addURIAndSha".into()))?;
        let (uri, sha) = asset(&url)?;
        out.push_str(&format!("uri: {uri}\n    sha256: {sha}"));
    }
    out.push_str(rest);
    Ok(out)
}

/// Where an action's `}}` is, skipping `}}` inside quoted strings (as Go's template lexer does).
fn action_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Go's `filepath.Match` for the patterns Krew's `files[].from` takes: `*`, `?`, `[...]`.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], name)
                || (name.first().is_some_and(|&c| c != b'/') && glob_match(pattern, &name[1..]))
        }
        (Some(b'?'), Some(&c)) if c != b'/' => glob_match(&pattern[1..], &name[1..]),
        (Some(b'['), Some(&c)) if c != b'/' => {
            let Some(close) = pattern.iter().position(|&b| b == b']') else { return false };
            let class = &pattern[1..close];
            let (negated, class) = match class.first() {
                Some(b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negated && glob_match(&pattern[close + 1..], &name[1..])
        }
        (Some(&p), Some(&c)) if p != b'?' && p != b'[' => {
            p == c && glob_match(&pattern[1..], &name[1..])
        }
        _ => false,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    digest(&SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Packs `members` (archive name, source file) into `dir/name.tar.gz` with the system tar and
/// gzip.
fn build_archive(dir: &Path, name: &str, members: &[(&str, &Path)]) -> PathBuf {
    let stage = dir.join(format!("stage-{name}"));
    fs::create_dir_all(&stage).unwrap();
    for (member, source) in members {
        let target = stage.join(member);
        fs::copy(source, &target).unwrap();
        let mode = if *member == "LICENSE" { 0o644 } else { 0o755 };
        fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
    }
    let tar = dir.join(format!("{name}.tar"));
    let names: Vec<&str> = members.iter().map(|(m, _)| *m).collect();
    run(Command::new("tar").arg("-C").arg(&stage).arg("-cf").arg(&tar).args(&names));
    run(Command::new("gzip").arg("-n").arg("-f").arg(&tar));
    dir.join(format!("{name}.tar.gz"))
}

/// The files in a directory tree, as paths relative to it.
fn list_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// `^[\w-]+$` and not a reserved Windows device name (Krew `IsSafePluginName`).
fn is_safe_plugin_name(name: &str) -> bool {
    const RESERVED: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Semantic version with a leading `v` (Krew parses it with apimachinery `ParseSemantic`).
fn is_semver(version: &str) -> bool {
    let Some(v) = version.strip_prefix('v') else { return false };
    let (core, build) = v.split_once('+').map_or((v, None), |(c, b)| (c, Some(b)));
    let (core, pre) = core.split_once('-').map_or((core, None), |(c, p)| (c, Some(p)));
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let idents = |s: &str| {
        s.split('.')
            .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(idents)
        && build.is_none_or(idents)
}

/// `metav1.LabelSelectorAsSelector`, built on the crate's own selector type.
fn as_selector(sel: &LabelSelector) -> Result<Selector, String> {
    let mut requirements = Vec::new();
    for (key, value) in sel.match_labels.iter().flatten() {
        let r = Requirement::new(key, Operator::Equals, [value.clone()]);
        requirements.push(r.map_err(|e| e.to_string())?);
    }
    for expr in sel.match_expressions.iter().flatten() {
        let op = Operator::from_match_expression(&expr.operator)
            .ok_or(format!("unknown operator {:?}", expr.operator))?;
        let r = Requirement::new(&expr.key, op, expr.values.iter().cloned());
        requirements.push(r.map_err(|e| e.to_string())?);
    }
    Ok(Selector::from_requirements(requirements))
}

fn matches_pair(sel: &Selector, (os, arch): (&str, &str)) -> bool {
    let labels: &[(&str, &str)] = &[("os", os), ("arch", arch)];
    sel.matches(labels)
}

/// Every way the manifest in `path` breaks Krew's rules, as one line each.
fn krew_problems(path: &Path, workdir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let text = fs::read_to_string(path).unwrap();
    let plugin: Plugin = match serde_saphyr::from_str(&text) {
        Ok(p) => p,
        Err(e) => return vec![format!("manifest does not parse: {e}")],
    };
    let mut fail = |p: String| problems.push(p);

    // ValidatePlugin.
    if plugin.api_version != "krew.googlecontainertools.github.com/v1alpha2" {
        fail(format!("apiVersion {:?} is not Krew's", plugin.api_version));
    }
    if plugin.kind != "Plugin" {
        fail(format!("kind {:?} is not Plugin", plugin.kind));
    }
    let file_name = path.file_stem().unwrap().to_string_lossy();
    if !is_safe_plugin_name(&file_name) {
        fail(format!("plugin name {file_name:?} is not a safe name"));
    }
    if plugin.metadata.name != file_name {
        fail(format!("plugin should be named {file_name:?}, not {:?}", plugin.metadata.name));
    }
    let spec = &plugin.spec;
    if spec.short_description.is_empty() || spec.short_description.contains(['\r', '\n']) {
        fail("shortDescription must be one non-empty line".into());
    }
    if spec.short_description.len() > 70 {
        fail(format!(
            "shortDescription is {} characters, over Krew's 70",
            spec.short_description.len()
        ));
    }
    for (field, text, max) in
        [("description", &spec.description, 80), ("caveats", &spec.caveats, 80)]
    {
        if text.lines().any(|l| l.len() > max && l.trim().contains(' ')) {
            fail(format!("a line of {field} is over {max} characters"));
        }
    }
    if !spec.homepage.starts_with("https://") {
        fail(format!("homepage {:?} is not an https URL", spec.homepage));
    }
    if !is_semver(&spec.version) {
        fail(format!("version {:?} is not a v-prefixed semantic version", spec.version));
    }
    if spec.platforms.is_empty() {
        fail("there must be at least one platform".into());
    }

    // validatePlatform, then the platform matching of validate-krew-manifest.
    let mut selectors = Vec::new();
    for (i, p) in spec.platforms.iter().enumerate() {
        let mut fail = |why: String| problems.push(format!("platforms[{i}]: {why}"));
        if p.uri.is_empty() {
            fail("uri has to be set".into());
        }
        if p.sha256.len() != 64
            || !p.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            fail(format!("sha256 {:?} is not 64 lowercase hex digits", p.sha256));
        }
        if p.bin.is_empty() {
            fail("bin has to be set".into());
        }
        match &p.files {
            Some(files) if files.is_empty() => fail("files must be left out or non-empty".into()),
            Some(files) if files.iter().any(|f| f.from.is_empty() || f.to.is_empty()) => {
                fail("every file operation needs from and to".into());
            }
            _ => {}
        }
        let Some(sel) = &p.selector else {
            fail("a selector is required".into());
            continue;
        };
        if sel.match_labels.is_none() && sel.match_expressions.as_ref().is_none_or(Vec::is_empty) {
            fail("the selector is empty".into());
        }
        if sel.match_labels.as_ref().is_some_and(BTreeMap::is_empty) {
            fail("matchLabels is given but empty".into());
        }
        if sel.match_expressions.as_ref().is_some_and(Vec::is_empty) {
            fail("matchExpressions is given but empty".into());
        }
        let keys = sel.match_labels.iter().flatten().map(|(k, _)| k.as_str());
        let keys = keys.chain(sel.match_expressions.iter().flatten().map(|e| e.key.as_str()));
        for key in keys.filter(|k| *k != "os" && *k != "arch") {
            fail(format!("selector key {key:?} is not os or arch"));
        }
        match as_selector(sel) {
            Ok(s) if KREW_PLATFORMS.iter().any(|&pair| matches_pair(&s, pair)) => {
                selectors.push((i, s));
            }
            Ok(_) => fail("the selector matches no platform Krew supports".into()),
            Err(e) => fail(format!("the selector does not convert: {e}")),
        }
    }
    for pair in KREW_PLATFORMS {
        let hits: Vec<usize> =
            selectors.iter().filter(|(_, s)| matches_pair(s, pair)).map(|(i, _)| *i).collect();
        if hits.len() > 1 {
            problems.push(format!("platforms {hits:?} overlap on os={} arch={}", pair.0, pair.1));
        }
    }
    for pair in REQUIRED {
        if !selectors.iter().any(|(_, s)| matches_pair(s, pair)) {
            problems.push(format!("no platform for os={} arch={}", pair.0, pair.1));
        }
    }

    // The archives: checksum, then an install as Krew's file operations would do it.
    for (i, p) in spec.platforms.iter().enumerate() {
        problems.extend(
            install_problems(p, &workdir.join(format!("install-{i}")))
                .into_iter()
                .map(|why| format!("platforms[{i}]: {why}")),
        );
    }
    problems
}

fn install_problems(p: &Platform, dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(archive) = p.uri.strip_prefix("file://").map(PathBuf::from) else {
        return vec![format!("uri {:?} is not a file:// URL in this test", p.uri)];
    };
    let Ok(bytes) = fs::read(&archive) else {
        return vec![format!("uri {:?} names no file", p.uri)];
    };
    if sha256_hex(&bytes) != p.sha256 {
        problems.push(format!("sha256 {} is not the archive's {}", p.sha256, sha256_hex(&bytes)));
    }
    let (extracted, installed) = (dir.join("extracted"), dir.join("installed"));
    fs::create_dir_all(&extracted).unwrap();
    fs::create_dir_all(&installed).unwrap();
    run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&extracted));
    let entries = list_files(&extracted);
    for op in p.files.iter().flatten() {
        if op.to.starts_with('/') || op.to.split('/').any(|c| c == "..") {
            problems
                .push(format!("file operation target {:?} leaves the install directory", op.to));
            continue;
        }
        let hits: Vec<&String> =
            entries.iter().filter(|e| glob_match(op.from.as_bytes(), e.as_bytes())).collect();
        if hits.is_empty() {
            problems.push(format!(
                "files.from {:?} matches nothing in the archive {entries:?}",
                op.from
            ));
        }
        for hit in hits {
            let target = installed.join(&op.to).join(Path::new(hit).file_name().unwrap());
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(extracted.join(hit), target).unwrap();
        }
    }
    if !p.bin.is_empty() && !installed.join(&p.bin).is_file() {
        problems.push(format!("bin {:?} is not among the installed files", p.bin));
    }
    let installed_files = list_files(&installed);
    let has_license = installed_files.iter().any(|f| {
        let name = Path::new(f).file_name().unwrap().to_string_lossy().to_lowercase();
        LICENSE_FILES.contains(&name.as_str())
    });
    if !has_license {
        problems.push(format!("no LICENSE among the installed files {installed_files:?}"));
    }
    problems
}

/// The archives the release ships, built from the real binary and LICENSE.
struct Release {
    unix: PathBuf,
    windows: PathBuf,
    assets: PathBuf,
}

impl Release {
    fn build(dir: &Path) -> Self {
        let binary = Path::new(env!("CARGO_BIN_EXE_kubectl-debatemesh"));
        let license = Path::new(env!("CARGO_MANIFEST_DIR")).join("LICENSE");
        let exe = format!("{BINARY}.exe");
        let unix = build_archive(dir, "unix", &[(BINARY, binary), ("LICENSE", &license)]);
        let windows = build_archive(dir, "windows", &[(&exe, binary), ("LICENSE", &license)]);
        let assets = dir.join("assets");
        fs::create_dir_all(&assets).unwrap();
        Self { unix, windows, assets }
    }

    /// Serves a release URL: copies the matching archive under the asset's name.
    fn asset(&self, url: &str) -> Result<(String, String), String> {
        let prefix = format!("{RELEASES}/{TAG}/{BINARY}_{TAG}_");
        let platform = url
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tar.gz"))
            .ok_or(format!("{url:?} is not a {TAG} release asset"))?;
        let (os, arch) = platform.split_once('_').ok_or(format!("{url:?} names no os_arch"))?;
        if !KREW_PLATFORMS.contains(&(os, arch)) {
            return Err(format!("{url:?} is for an unknown platform"));
        }
        let source = if os == "windows" { &self.windows } else { &self.unix };
        let target = self.assets.join(url.rsplit('/').next().unwrap_or("asset"));
        fs::copy(source, &target).map_err(|e| e.to_string())?;
        let sha = sha256_hex(&fs::read(&target).map_err(|e| e.to_string())?);
        Ok((format!("file://{}", target.display()), sha))
    }
}

fn rendered_manifest(release: &Release) -> String {
    let template =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("krew-manifest.yaml"))
            .expect("krew-manifest.yaml is at the crate root");
    render(&template, TAG, &mut |url| release.asset(url)).unwrap()
}

fn problems_of(text: &str, dir: &Path, name: &str) -> Vec<String> {
    let case = dir.join(name);
    fs::create_dir_all(&case).unwrap();
    let path = case.join(format!("{PLUGIN}.yaml"));
    fs::write(&path, text).unwrap();
    krew_problems(&path, &case)
}

#[test]
fn krew_manifest_passes_krew_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let release = Release::build(tmp.path());
    let text = rendered_manifest(&release);

    let problems = problems_of(&text, tmp.path(), "ok");
    assert!(problems.is_empty(), "rendered manifest:\n{text}\nproblems:\n{}", problems.join("\n"));
    assert!(text.contains(&format!("version: {TAG}")), "{text}");

    // The archives hold the real binary and the real LICENSE.
    let binary = fs::read(env!("CARGO_BIN_EXE_kubectl-debatemesh")).unwrap();
    let license = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("LICENSE")).unwrap();
    for (archive, bin) in
        [(&release.unix, BINARY.to_owned()), (&release.windows, format!("{BINARY}.exe"))]
    {
        let out = tmp.path().join(format!("check-{bin}"));
        fs::create_dir_all(&out).unwrap();
        run(Command::new("tar").arg("-xzf").arg(archive).arg("-C").arg(&out));
        assert_eq!(list_files(&out), ["LICENSE".to_owned(), bin.clone()]);
        assert!(fs::read(out.join(&bin)).unwrap() == binary, "{bin} differs from the built binary");
        assert!(fs::read(out.join("LICENSE")).unwrap() == license, "LICENSE differs");
        let mode = fs::metadata(out.join(&bin)).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{bin} is not executable");
    }
}

#[test]
fn krew_checks_catch_broken_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    let release = Release::build(tmp.path());
    let text = rendered_manifest(&release);
    let first_sha =
        text.lines().find_map(|l| l.trim().strip_prefix("sha256: ")).unwrap().to_owned();

    let breakages: Vec<(&str, String)> = vec![
        ("apiVersion", text.replace("/v1alpha2", "/v1alpha1")),
        ("name", text.replace("name: debatemesh", "name: debate-mesh")),
        ("version", text.replace(&format!("version: {TAG}"), "version: 0.1.0")),
        (
            "short description",
            text.replace(
                "shortDescription: Configure",
                "shortDescription: A description that goes on and on, well past what Krew allows: Configure",
            ),
        ),
        ("sha256", text.replacen(&first_sha, &"0".repeat(64), 1)),
        ("overlap", text.replacen("arch: arm64", "arch: amd64", 1)),
        ("coverage", text.replace("os: windows", "os: linux")),
        ("selector key", text.replacen("arch: amd64", "cpu: amd64", 1)),
        ("bin", text.replacen("bin: kubectl-debatemesh\n", "bin: kubectl-debatemesh-x\n", 1)),
        ("license", text.replace("    - from: LICENSE\n      to: .\n", "")),
        ("files glob", text.replacen("- from: kubectl-debatemesh\n", "- from: bin/kubectl-*\n", 1)),
    ];
    for (what, broken) in breakages {
        assert_ne!(broken, text, "{what}: the breakage did not change the manifest");
        let problems = problems_of(&broken, tmp.path(), &what.replace(' ', "-"));
        assert!(!problems.is_empty(), "{what}: a broken manifest passed:\n{broken}");
    }
}

#[test]
fn renderer_and_globs_follow_their_sources() {
    let mut asset = |url: &str| Ok((format!("file:///{url}"), "ab".to_owned()));
    let out = render(
        "v: {{ .TagName }}\n    {{addURIAndSha \"x/{{ .TagName }}.tgz\" .TagName }}",
        "v1.2.3",
        &mut asset,
    )
    .unwrap();
    assert_eq!(out, "v: v1.2.3\n    uri: file:///x/v1.2.3.tgz\n    sha256: ab");
    assert!(render("{{ .Other }}", "v1", &mut asset).is_err());
    assert!(render("{{ .TagName ", "v1", &mut asset).is_err());

    for (pattern, name, want) in [
        ("kubectl-debatemesh", "kubectl-debatemesh", true),
        ("*", "LICENSE", true),
        ("*", "dir/LICENSE", false),
        ("dir/*", "dir/LICENSE", true),
        ("kubectl-*", "kubectl-debatemesh.exe", true),
        ("LICENS?", "LICENSE", true),
        ("[A-M]ICENSE", "LICENSE", true),
        ("[^L]ICENSE", "LICENSE", false),
        ("LICENSE", "LICENSE.txt", false),
    ] {
        assert_eq!(glob_match(pattern.as_bytes(), name.as_bytes()), want, "{pattern} {name}");
    }
    for (version, want) in [
        ("v0.1.0", true),
        ("v1.2.3-rc.1+build.5", true),
        ("0.1.0", false),
        ("v1.2", false),
        ("v01.2.3", false),
        ("v1.2.3-", false),
    ] {
        assert_eq!(is_semver(version), want, "{version}");
    }
}
