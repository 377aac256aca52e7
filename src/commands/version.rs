//! `version`: the client version and, when the server answers, its version.

use serde_json::{Value, json};

use crate::{
    cli::{GlobalArgs, VersionArgs},
    cluster::Cluster,
    error::ExitStatus,
    output::{Format, Ui},
};

/// This binary's version, as kubectl prints its own.
pub const CLIENT_VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// Prints the versions.
pub async fn run(
    global: &GlobalArgs,
    args: VersionArgs,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let format =
        Format::parse(global.output.as_deref(), &[Format::Table, Format::Json, Format::Yaml])?;
    let client = json!({
        "gitVersion": CLIENT_VERSION,
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    });

    let server = if args.client {
        None
    } else {
        match server_version(global).await {
            Ok(v) => Some(v),
            Err(e) => {
                ui.warn(&format!(
                    "the server version is unknown: {}",
                    crate::output::errors::one_line(&e)
                ));
                None
            }
        }
    };

    match format {
        Format::Json | Format::Yaml => {
            let mut doc = json!({ "clientVersion": client });
            if let Some(server) = &server {
                doc["serverVersion"] = server.clone();
            }
            if format == Format::Json { ui.json(&doc)? } else { ui.yaml(&doc)? }
        }
        _ => {
            let mut text = format!("Client Version: {CLIENT_VERSION}\n");
            if let Some(v) =
                server.as_ref().and_then(|s| s.get("gitVersion")).and_then(Value::as_str)
            {
                text.push_str(&format!("Server Version: {v}\n"));
            }
            ui.text(&text)?;
        }
    }
    Ok(ExitStatus::Success)
}

async fn server_version(global: &GlobalArgs) -> anyhow::Result<Value> {
    let cluster = Cluster::connect(global).await?;
    Ok(cluster.server_version().await?)
}

/// The architecture in Go's spelling, as Krew and kubectl name platforms.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}
