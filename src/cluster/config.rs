//! From the kubeconfig flags to a connected client, the way kubectl resolves them.
//!
//! `--kubeconfig` names one file that must exist; otherwise every existing file in
//! `KUBECONFIG` is merged (missing ones are skipped, as kubectl does), then `~/.kube/config`,
//! then the in-cluster service account. kube's own kubeconfig support does the rest: exec
//! credential plugins, token files, client certificates and `insecure-skip-tls-verify`.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::{cli::GlobalArgs, error::UsageError};

/// Where the client configuration came from, for messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// The context in use, when a kubeconfig was read.
    pub context: Option<String>,
    /// The API server URL.
    pub server: String,
}

/// Everything needed to build a client, resolved from the flags.
pub struct Resolved {
    pub config: Config,
    /// `--request-timeout`, when one is set.
    pub timeout: Option<Duration>,
    pub source: Source,
    /// Strings from the kubeconfig that must never be printed.
    pub secrets: Vec<String>,
}

/// The exec credential plugin of the user in use, as the kubeconfig names it, for messages.
static EXEC_PLUGIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The exec credential plugin of the user in use (`gke-gcloud-auth-plugin`), when it has one.
pub fn exec_plugin() -> Option<&'static str> {
    EXEC_PLUGIN.get().map(String::as_str)
}

/// Reads the kubeconfig the flags point at and applies the flags to it.
pub async fn resolve(global: &GlobalArgs) -> anyhow::Result<Resolved> {
    let timeout = parse_request_timeout(&global.request_timeout)?;
    let (kubeconfig, files) = read_kubeconfig(global)?;

    let (mut config, context) = match kubeconfig {
        Some(kubeconfig) => {
            let context = pick_context(&kubeconfig, global)?;
            let options = KubeConfigOptions {
                context: Some(context.clone()),
                cluster: global.cluster.clone(),
                user: global.user.clone(),
            };
            if let Some(command) = exec_command(&kubeconfig, &context, global) {
                let _ = EXEC_PLUGIN.set(command);
            }
            let config = Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| UsageError::new(format!("cannot use the kubeconfig: {e}")))?;
            (config, Some(context))
        }
        None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
            let config = Config::incluster().map_err(|e| {
                UsageError::new(format!("cannot use the in-cluster service account: {e}"))
            })?;
            (config, None)
        }
        None => {
            return Err(UsageError::new(
                "no kubeconfig found in $KUBECONFIG or ~/.kube/config, and not running in a pod",
            )
            .with_hint("pass --kubeconfig PATH, or set KUBECONFIG")
            .into());
        }
    };

    if let Some(ns) = &global.namespace {
        config.default_namespace = ns.clone();
    }
    // The whole exchange is timed in `rest`; kube only bounds connecting, so a timeout from kube
    // always means nothing was sent.
    if let Some(t) = timeout {
        config.connect_timeout = Some(t);
    }
    // Retries are ours: reads are retried with bounded backoff, writes are not repeated blindly.
    config.default_retry = false;

    let secrets = collect_secrets(&files);
    let source = Source { context, server: config.cluster_url.to_string() };
    Ok(Resolved { config, timeout, source, secrets })
}

/// The exec plugin's command of the user the context (or `--user`) names.
fn exec_command(kubeconfig: &Kubeconfig, context: &str, global: &GlobalArgs) -> Option<String> {
    let user = match &global.user {
        Some(user) => user.clone(),
        None => kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context)?
            .context
            .as_ref()?
            .user
            .clone()?,
    };
    let auth = kubeconfig.auth_infos.iter().find(|a| a.name == user)?.auth_info.as_ref()?;
    auth.exec.as_ref()?.command.clone()
}

/// `--request-timeout`: `0` waits forever; a bare number is seconds; otherwise a Go duration.
pub fn parse_request_timeout(value: &str) -> Result<Option<Duration>, UsageError> {
    let invalid = || {
        UsageError::new(format!(
            "invalid value {value:?} for --request-timeout: use a duration such as 30s, 1m or 0 \
             for no timeout"
        ))
    };
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Ok((secs > 0).then(|| Duration::from_secs(secs)));
    }
    let nanos = crate::mesh::validate::parse_go_duration(value).map_err(|_| invalid())?;
    match u64::try_from(nanos) {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(Duration::from_nanos(n))),
        Err(_) => Err(invalid()),
    }
}

fn read_kubeconfig(global: &GlobalArgs) -> anyhow::Result<(Option<Kubeconfig>, Vec<PathBuf>)> {
    if let Some(path) = &global.kubeconfig {
        if path.is_dir() {
            return Err(UsageError::new(format!(
                "{} is a folder, not a kubeconfig file (--kubeconfig)",
                path.display()
            ))
            .into());
        }
        if !path.is_file() {
            return Err(UsageError::new(format!(
                "the kubeconfig file {} does not exist (--kubeconfig)",
                path.display()
            ))
            .into());
        }
        return Ok((Some(read_file(path)?), vec![path.clone()]));
    }

    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty() && p.is_file())
            .collect(),
        _ => home_config().into_iter().filter(|p| p.is_file()).collect(),
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in &paths {
        let next = read_file(path)?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next).map_err(|e| {
                UsageError::new(format!("cannot merge the kubeconfig {}: {e}", path.display()))
            })?,
        });
    }
    Ok((merged, paths))
}

fn home_config() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube").join("config"))
}

fn read_file(path: &Path) -> Result<Kubeconfig, UsageError> {
    Kubeconfig::read_from(path).map_err(|e| {
        UsageError::new(format!("cannot read the kubeconfig {}: {}", path.display(), one_line(&e)))
    })
}

fn pick_context(kubeconfig: &Kubeconfig, global: &GlobalArgs) -> Result<String, UsageError> {
    let names: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
    let wanted = match (&global.context, &kubeconfig.current_context) {
        (Some(c), _) => c.clone(),
        (None, Some(c)) if !c.is_empty() => c.clone(),
        _ => {
            return Err(UsageError::new(
                "the kubeconfig sets no current context and --context was not given",
            )
            .with_hint(match names.first() {
                Some(first) => format!("pass --context, e.g. --context {first}"),
                None => "the kubeconfig defines no contexts".to_string(),
            }));
        }
    };
    if names.contains(&wanted.as_str()) {
        return Ok(wanted);
    }
    let known = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    Err(UsageError::new(format!("context {wanted:?} is not in the kubeconfig (contexts: {known})")))
}

/// Credentials named in the kubeconfig files, so logging can redact them whatever prints them.
fn collect_secrets(files: &[PathBuf]) -> Vec<String> {
    const SECRET_KEYS: &[&str] = &[
        "token",
        "password",
        "client-key-data",
        "id-token",
        "refresh-token",
        "access-token",
        "client-secret",
    ];
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let Ok(docs) = serde_saphyr::from_str_multiple::<serde_json::Value, Vec<_>>(&text) else {
            continue;
        };
        for doc in &docs {
            walk(doc, &mut |key, value| {
                if SECRET_KEYS.contains(&key) {
                    out.push(value.to_string());
                }
                if (key == "tokenFile" || key == "token-file")
                    && let Ok(t) = std::fs::read_to_string(value)
                {
                    out.push(t.trim().to_string());
                }
            });
        }
    }
    out.retain(|s| s.len() >= 4);
    out
}

fn walk(value: &serde_json::Value, f: &mut dyn FnMut(&str, &str)) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if let Some(s) = v.as_str() {
                    f(k, s);
                }
                walk(v, f);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, f)),
        _ => {}
    }
}

fn one_line(e: &dyn std::error::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_read_like_kubectl() {
        assert_eq!(parse_request_timeout("0").unwrap(), None);
        assert_eq!(parse_request_timeout("5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(parse_request_timeout("1m").unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(parse_request_timeout("250ms").unwrap(), Some(Duration::from_millis(250)));
        assert!(parse_request_timeout("soon").is_err());
        assert!(parse_request_timeout("-1s").is_err());
    }

    #[test]
    fn secrets_are_found_anywhere_in_the_kubeconfig() {
        let dir = std::env::temp_dir().join(format!("dm-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config");
        std::fs::write(
            &file,
            "users:\n- name: u\n  user:\n    token: sekret-token-1\n    password: hunter22\n",
        )
        .unwrap();
        let secrets = collect_secrets(&[file]);
        assert!(secrets.contains(&"sekret-token-1".to_string()));
        assert!(secrets.contains(&"hunter22".to_string()));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
