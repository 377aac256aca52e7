//! The hidden `__complete` command: cobra's completion protocol, which kubectl speaks to plugin
//! completion shims. The last word is the one being completed; the answer is one candidate per
//! line (`value<TAB>description`), then `:<directive>`.
//!
//! Commands, subcommands, flags and fixed values come from the command-line definition;
//! namespace and Service names come from the cluster, with a short timeout and silently
//! nothing on any error.

use std::time::Duration;

use clap::{Arg, CommandFactory};

use crate::{
    cli::{Cli, GlobalArgs},
    cluster::{Cluster, ListOptions, Scope, kinds},
};

/// cobra's `ShellCompDirectiveNoFileComp`.
const NO_FILE_COMP: u32 = 4;
/// cobra's `ShellCompDirectiveDefault`: let the shell complete files.
const DEFAULT: u32 = 0;
/// How long completion waits for the cluster.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(2);

/// What the word under the cursor should be.
#[derive(Debug, PartialEq, Eq)]
enum Want {
    /// Subcommands and positional values of the command.
    Words,
    /// A flag name.
    Flag,
    /// The value of a flag.
    Value(String),
}

/// Answers one completion request; never fails.
pub async fn answer(words: &[String]) -> String {
    let (typed, current) = match words.split_last() {
        Some((current, typed)) => (typed, current.as_str()),
        None => (&[][..], ""),
    };
    let mut root = Cli::command();
    root.build();
    let (path, global, want, positionals) = walk(&root, typed, current);
    let command = path.iter().fold(&root, |cmd, name| cmd.find_subcommand(name).unwrap_or(cmd));

    let (prefix, current) = match (&want, current.split_once('=')) {
        (Want::Value(_), Some((flag, value))) if current.starts_with("--") => {
            (format!("{flag}="), value)
        }
        _ => (String::new(), current),
    };

    let mut candidates: Vec<(String, String)> = Vec::new();
    let mut directive = NO_FILE_COMP;
    match want {
        Want::Flag => {
            for arg in root.get_arguments().chain(command.get_arguments()) {
                if arg.is_hide_set() {
                    continue;
                }
                if let Some(long) = arg.get_long() {
                    candidates.push((format!("--{long}"), help(arg)));
                }
            }
            candidates.push(("--help".into(), "Print help".into()));
        }
        Want::Value(id) => {
            let arg = root
                .get_arguments()
                .chain(command.get_arguments())
                .find(|a| a.get_id() == id.as_str());
            match id.as_str() {
                "namespace" => candidates = cluster_names(&global, None).await,
                "context" => candidates = contexts(&global),
                "kubeconfig" => directive = DEFAULT,
                "output" => {
                    candidates = OUTPUTS.iter().map(|o| (o.to_string(), String::new())).collect()
                }
                _ => {
                    if let Some(arg) = arg {
                        candidates = possible_values(arg);
                    }
                }
            }
        }
        Want::Words => {
            for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                candidates.push((sub.get_name().to_string(), about));
            }
            let positional =
                command.get_positionals().filter(|a| !a.is_hide_set()).nth(positionals).or_else(
                    || {
                        command
                            .get_positionals()
                            .find(|a| matches!(a.get_action(), clap::ArgAction::Append))
                    },
                );
            if let Some(arg) = positional {
                let name = arg.get_value_names().and_then(|n| n.first()).map(|n| n.to_string());
                match name.as_deref() {
                    Some("NS") => candidates.extend(cluster_names(&global, None).await),
                    Some("SVC") => {
                        candidates.extend(cluster_names(&global, Some(&kinds::SERVICE)).await)
                    }
                    _ => candidates.extend(possible_values(arg)),
                }
            }
        }
    }

    let mut out = String::new();
    for (value, about) in candidates.into_iter().filter(|(v, _)| v.starts_with(current)) {
        let line = format!("{prefix}{value}");
        if about.is_empty() {
            out.push_str(&format!("{line}\n"));
        } else {
            out.push_str(&format!("{line}\t{}\n", about.lines().next().unwrap_or_default()));
        }
    }
    out.push_str(&format!(":{directive}\n"));
    out
}

const OUTPUTS: &[&str] = &["table", "wide", "json", "yaml", "sarif", "dot", "mermaid"];

/// Walks the typed words: the subcommand path, the kubeconfig flags seen, what the current word
/// should be, and how many positional values came before it.
fn walk(
    root: &clap::Command,
    typed: &[String],
    current: &str,
) -> (Vec<String>, GlobalArgs, Want, usize) {
    let mut path: Vec<String> = Vec::new();
    let mut global = GlobalArgs::default();
    let mut positionals = 0;
    let mut pending: Option<String> = None;

    for word in typed {
        if let Some(id) = pending.take() {
            remember(&mut global, &id, word);
            continue;
        }
        let command = path.iter().fold(root, |cmd, name| cmd.find_subcommand(name).unwrap_or(cmd));
        if word.starts_with('-') && word.len() > 1 {
            let (flag, inline) = match word.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (word.as_str(), None),
            };
            if let Some(arg) = find_flag(root, command, flag) {
                let id = arg.get_id().to_string();
                if takes_value(arg) {
                    match inline {
                        Some(v) => remember(&mut global, &id, v),
                        None => pending = Some(id),
                    }
                }
            }
            continue;
        }
        if positionals == 0 && command.find_subcommand(word).is_some() {
            path.push(word.clone());
        } else {
            positionals += 1;
        }
    }

    let command = path.iter().fold(root, |cmd, name| cmd.find_subcommand(name).unwrap_or(cmd));
    let want = if let Some(id) = pending {
        Want::Value(id)
    } else if current.starts_with("--") && current.contains('=') {
        let flag = current.split('=').next().unwrap_or_default();
        match find_flag(root, command, flag) {
            Some(arg) => Want::Value(arg.get_id().to_string()),
            None => Want::Flag,
        }
    } else if current.starts_with('-') {
        Want::Flag
    } else {
        Want::Words
    };
    (path, global, want, positionals)
}

fn find_flag<'a>(
    root: &'a clap::Command,
    command: &'a clap::Command,
    flag: &str,
) -> Option<&'a Arg> {
    let matches = |a: &&Arg| match flag.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => flag.len() == 2 && a.get_short() == flag.chars().nth(1),
    };
    command.get_arguments().find(matches).or_else(|| root.get_arguments().find(matches))
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values()) && !arg.is_require_equals_set()
}

fn remember(global: &mut GlobalArgs, id: &str, value: &str) {
    match id {
        "kubeconfig" => global.kubeconfig = Some(value.into()),
        "context" => global.context = Some(value.into()),
        "namespace" => global.namespace = Some(value.into()),
        "cluster" => global.cluster = Some(value.into()),
        "user" => global.user = Some(value.into()),
        _ => {}
    }
}

fn help(arg: &Arg) -> String {
    arg.get_help().map(|h| h.to_string()).unwrap_or_default()
}

fn possible_values(arg: &Arg) -> Vec<(String, String)> {
    arg.get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| {
            (v.get_name().to_string(), v.get_help().map(|h| h.to_string()).unwrap_or_default())
        })
        .collect()
}

/// Names of namespaces, or of objects of `kind` in the current namespace; empty on any error.
async fn cluster_names(
    global: &GlobalArgs,
    kind: Option<&'static crate::cluster::Kind>,
) -> Vec<(String, String)> {
    let mut global = global.clone();
    global.request_timeout = "2s".into();
    let lookup = async {
        let cluster = Cluster::connect(&global).await.ok()?;
        let kind = kind.unwrap_or(&kinds::NAMESPACE);
        let resource = cluster.try_resource(kind).await.ok()??;
        let scope = Scope::Namespace(cluster.namespace());
        let items: Vec<Named> =
            cluster.list(&resource, scope, &ListOptions::metadata()).await.ok()?;
        Some(items.into_iter().map(|i| (i.metadata.name, String::new())).collect())
    };
    tokio::time::timeout(CLUSTER_TIMEOUT, lookup).await.ok().flatten().unwrap_or_default()
}

#[derive(serde::Deserialize)]
struct Named {
    metadata: NamedMeta,
}

#[derive(serde::Deserialize)]
struct NamedMeta {
    #[serde(default)]
    name: String,
}

fn contexts(global: &GlobalArgs) -> Vec<(String, String)> {
    let read = match &global.kubeconfig {
        Some(path) => kube::config::Kubeconfig::read_from(path),
        None => kube::config::Kubeconfig::read(),
    };
    read.map(|k| k.contexts.into_iter().map(|c| (c.name, String::new())).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut w: Vec<String> = text.split(' ').map(str::to_string).collect();
        if text.ends_with(' ') {
            w.pop();
            w.push(String::new());
        }
        w
    }

    fn lines(answer: &str) -> Vec<&str> {
        answer.lines().map(|l| l.split('\t').next().unwrap()).collect()
    }

    #[tokio::test]
    async fn commands_complete_from_the_definition() {
        let a = answer(&words("in")).await;
        assert_eq!(lines(&a), vec!["inject", ":4"]);
        let a = answer(&words("inject st")).await;
        assert_eq!(lines(&a), vec!["status", ":4"]);
    }

    #[tokio::test]
    async fn flags_and_their_values_complete() {
        let a = answer(&words("inject --rev")).await;
        assert_eq!(lines(&a), vec!["--revision", ":4"]);
        let a = answer(&words("inject shop --dry-run=s")).await;
        assert_eq!(lines(&a), vec!["--dry-run=server", ":4"]);
        let a = answer(&words("version -o y")).await;
        assert_eq!(lines(&a), vec!["yaml", ":4"]);
        let a = answer(&words("completion ")).await;
        assert!(a.contains("bash\n") && a.contains("kubectl-shim"), "{a}");
        let a = answer(&words("--kubeconfig ")).await;
        assert!(a.ends_with(":0\n"), "{a}");
    }
}
