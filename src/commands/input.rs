//! The Snapshot a reading command works on: read from the cluster, from `-f` files and folders
//! (multi-document YAML, JSON, `kind: List`, `-` for stdin), or from files laid over the live
//! state. Offline, what every Istio cluster has is assumed unless `--no-defaults`, and the
//! command says so.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::Context;

use crate::{
    cli::{GlobalArgs, InputArgs},
    cluster::{Cluster, snapshot::LoadOptions},
    error::UsageError,
    mesh::{
        manifest::{add_documents, read_manifest},
        snapshot::{Snapshot, SnapshotBuilder, add_offline_defaults},
    },
    output::Ui,
};

/// A Snapshot and how it was made.
pub struct Input {
    pub snapshot: Snapshot,
    /// Objects read, from all sources.
    pub objects: usize,
    /// The namespace commands default to (`-n`, the context's, or `default`).
    pub namespace: String,
    /// Whether the cluster was read.
    pub live: bool,
}

/// Reads the input the flags describe; notes about it go to stderr.
pub async fn load(global: &GlobalArgs, args: &InputArgs, ui: &mut Ui) -> anyhow::Result<Input> {
    load_inner(global, args, ui, false).await
}

/// As [`load`], and on the cluster also reads the pods whose service account the metadata-only
/// list left unknown, for commands that answer for a caller's identity.
pub async fn load_with_accounts(
    global: &GlobalArgs,
    args: &InputArgs,
    ui: &mut Ui,
) -> anyhow::Result<Input> {
    load_inner(global, args, ui, true).await
}

async fn load_inner(
    global: &GlobalArgs,
    args: &InputArgs,
    ui: &mut Ui,
    accounts: bool,
) -> anyhow::Result<Input> {
    if let Some(ns) = &global.namespace {
        crate::mesh::validate::validate_namespace(ns).map_err(|e| e.for_flag("--namespace"))?;
    }
    crate::mesh::validate::validate_namespace(&args.istio_namespace)
        .map_err(|e| e.for_flag("--istio-namespace"))?;
    let files = read_files(&args.files, args.recursive)?;

    // `-f` decides, not what it held: an empty folder must not turn into a read of the cluster.
    if args.files.is_empty() || args.use_cluster {
        // Connecting sends nothing; the files are read before the cluster, so a bad file
        // costs no request.
        let cluster = Cluster::connect(global).await?;
        let namespace = cluster.namespace().to_string();
        let layer = match args.files.is_empty() {
            true => None,
            false => Some(parse_files(&files, &namespace, args)?),
        };
        let (live, objects) = read_live(&cluster, args, ui).await?;
        let mut snapshot = live.default_namespace(&namespace).finish();
        if accounts {
            snapshot = cluster.resolve_pod_accounts(snapshot, args.page_size).await?;
        }
        let Some((layer, from_files)) = layer else {
            return Ok(Input { snapshot, objects, namespace, live: true });
        };
        let snapshot = snapshot.overlay(layer);
        return Ok(Input { snapshot, objects: objects + from_files, namespace, live: true });
    }

    let namespace = global.namespace.clone().unwrap_or_else(|| "default".to_string());
    let (mut builder, objects) = parse_files(&files, &namespace, args)?;
    if !args.no_defaults {
        let added = add_offline_defaults(&mut builder);
        if !added.is_empty() {
            let names: Vec<String> =
                added.iter().map(|a| format!("{} {}", a.kind, a.name)).collect();
            ui.note(&format!(
                "no cluster: assuming what every Istio cluster has ({}); --no-defaults turns this off",
                names.join(", ")
            ));
        }
    }
    let skipped = builder.skipped().clone();
    if !skipped.is_empty() {
        let total: usize = skipped.values().sum();
        let kinds: Vec<String> = skipped.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        ui.note(&format!(
            "skipped {} of kinds this tool does not analyze: {}",
            crate::output::count(total, "object", "objects"),
            kinds.join(", ")
        ));
    }
    Ok(Input { snapshot: builder.finish(), objects, namespace, live: false })
}

/// Reads files as a layer to lay over a Snapshot with [`Snapshot::overlay`], by the rules of
/// `-f` (folders, `-R`, `-`), objects without a namespace in `namespace`; with the number of
/// objects read.
pub fn read_layer(
    paths: &[PathBuf],
    args: &InputArgs,
    namespace: &str,
) -> anyhow::Result<(SnapshotBuilder, usize)> {
    let files = read_files(paths, args.recursive)?;
    parse_files(&files, namespace, args)
}

async fn read_live(
    cluster: &Cluster,
    args: &InputArgs,
    ui: &mut Ui,
) -> anyhow::Result<(SnapshotBuilder, usize)> {
    let options = LoadOptions {
        page_size: args.page_size,
        control_plane_namespace: args.istio_namespace.clone(),
        ..LoadOptions::default()
    };
    let (builder, report) = cluster.collect_snapshot(&options).await?;
    for note in report.notes() {
        ui.note(&note);
    }
    Ok((builder, report.objects))
}

/// One input file's bytes and the name it is reported under.
struct File {
    name: String,
    bytes: Vec<u8>,
}

fn read_files(paths: &[PathBuf], recursive: bool) -> anyhow::Result<Vec<File>> {
    let mut out = Vec::new();
    let mut stdin_read = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if stdin_read {
                return Err(UsageError::new("-f - (stdin) can be given only once").into());
            }
            stdin_read = true;
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).context("cannot read stdin")?;
            out.push(File { name: "-".into(), bytes });
            continue;
        }
        if !path.exists() {
            return Err(UsageError::new(format!(
                "the path {} does not exist (-f)",
                path.display()
            ))
            .into());
        }
        if path.is_dir() {
            for file in walk(path, recursive)? {
                out.push(read_one(&file)?);
            }
        } else {
            out.push(read_one(path)?);
        }
    }
    Ok(out)
}

fn read_one(path: &Path) -> anyhow::Result<File> {
    let bytes = std::fs::read(path)
        .map_err(|e| UsageError::new(format!("cannot read {}: {e}", path.display())))?;
    Ok(File { name: path.display().to_string(), bytes })
}

/// Manifest files in a folder (`.yaml`, `.yml`, `.json`), sorted; subfolders with `-R`.
fn walk(dir: &Path, recursive: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| UsageError::new(format!("cannot read folder {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            if recursive {
                files.extend(walk(&entry, true)?);
            }
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            files.push(entry);
        }
    }
    Ok(files)
}

/// Parses every file into one builder. Broken YAML and documents that are not objects are
/// errors naming file and line; unknown kinds are counted and skipped.
fn parse_files(
    files: &[File],
    namespace: &str,
    args: &InputArgs,
) -> anyhow::Result<(SnapshotBuilder, usize)> {
    let mut builder = SnapshotBuilder::new()
        .default_namespace(namespace)
        .control_plane_namespace(&args.istio_namespace);
    // Files are the whole world: a kind they do not mention has no objects, so every analyzer
    // runs (on the cluster, a kind that cannot be listed skips the analyzers that need it).
    for kind in crate::mesh::Kind::ALL {
        builder.mark_loaded(kind);
    }
    let mut objects = 0;
    let mut documents = 0;
    for file in files {
        let manifest =
            read_manifest(&file.name, &file.bytes).map_err(|e| UsageError::new(e.to_string()))?;
        documents += manifest.documents.len();
        let (stored, errors) = add_documents(&mut builder, manifest);
        if let Some(first) = errors.first() {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more problems)", n - 1),
            };
            return Err(UsageError::new(format!("{first}{more}")).into());
        }
        objects += stored;
    }
    // As `kubectl apply -f` does, input without a single object is a mistake (an empty render,
    // a wrong folder), not a clean bill of health. Objects of any kind count.
    if documents == 0 {
        let mut names: Vec<&str> = files.iter().map(|f| f.name.as_str()).take(3).collect();
        if files.len() > 3 {
            names.push("...");
        }
        let what = match names.is_empty() {
            true => "no .yaml, .yml or .json file was found".to_string(),
            false => format!("nothing but empty documents in {}", names.join(", ")),
        };
        return Err(UsageError::new(format!("no objects in the -f input: {what}")).into());
    }
    Ok((builder, objects))
}
