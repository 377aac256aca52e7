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
        manifest::load_manifest,
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
    if let Some(ns) = &global.namespace {
        crate::mesh::validate::validate_namespace(ns)?;
    }
    crate::mesh::validate::validate_namespace(&args.istio_namespace)
        .map_err(|e| e.for_flag("--istio-namespace"))?;
    let files = read_files(&args.files, args.recursive)?;

    if files.is_empty() || args.use_cluster {
        let cluster = Cluster::connect(global).await?;
        let namespace = cluster.namespace().to_string();
        let (live, objects) = read_live(&cluster, args, ui).await?;
        let live = live.default_namespace(&namespace);
        if files.is_empty() {
            return Ok(Input { snapshot: live.finish(), objects, namespace, live: true });
        }
        let (layer, from_files) = parse_files(&files, &namespace, args)?;
        let snapshot = live.finish().overlay(layer);
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
            "skipped {total} objects of kinds this tool does not analyze: {}",
            kinds.join(", ")
        ));
    }
    Ok(Input { snapshot: builder.finish(), objects, namespace, live: false })
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
    let groups: std::collections::BTreeSet<&str> =
        report.not_served.iter().map(|k| k.group).collect();
    for group in groups {
        ui.note(&format!("the cluster does not serve {group}; checks of its kinds are skipped"));
    }
    for (kind, why) in &report.forbidden {
        ui.note(&format!(
            "cannot list {} ({why}); checks that need them are skipped",
            kind.resource_name()
        ));
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
    for file in files {
        let (stored, errors) = load_manifest(&mut builder, &file.name, &file.bytes)
            .map_err(|e| UsageError::new(e.to_string()))?;
        if let Some(first) = errors.first() {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more problems)", n - 1),
            };
            return Err(UsageError::new(format!("{first}{more}")).into());
        }
        objects += stored;
    }
    Ok((builder, objects))
}
