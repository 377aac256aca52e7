//! `dashboard [kiali|grafana|prometheus|jaeger]`: finds the addon's Service, picks a ready pod
//! behind it, forwards a local port to the pod's target port through the API server, prints the
//! URL at the addon's web root, and runs until Ctrl-C.
//!
//! Progress, notes and per-connection errors go to stderr; stdout holds only the URL.

mod addon;
mod browser;
mod forward;
mod objects;
mod target;

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{net::TcpListener, sync::mpsc};

use self::{
    addon::AddonInfo,
    objects::{ConfigMap, Pod},
    target::{AddonService, Backend},
};
use crate::{
    cli::{Addon, DashboardArgs, GlobalArgs},
    cluster::{Cluster, ClusterError, humantime, kinds},
    error::{ExitStatus, UsageError},
    mesh::validate::{self, ResultExt, ValidationError},
    output::Ui,
};

/// Where addons live unless `-n` says otherwise.
const CONTROL_PLANE_NAMESPACE: &str = "istio-system";
/// How often `--wait` looks for a ready pod.
const WAIT_POLL: Duration = Duration::from_secs(1);
/// How many pods the start-up check tries before it gives up.
const PROBE_ATTEMPTS: usize = 3;

/// The command line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    addon: Addon,
    namespace: String,
    port: Option<u16>,
    address: IpAddr,
    wait: Option<Duration>,
    browser: bool,
}

fn plan(global: &GlobalArgs, args: &DashboardArgs) -> Result<Plan, anyhow::Error> {
    if let Some(format) = &global.output {
        return Err(UsageError::new(format!(
            "invalid value {format:?} for -o: dashboard prints only the URL and takes no output \
             format"
        ))
        .into());
    }
    let namespace = match &global.namespace {
        Some(ns) => {
            validate::validate_namespace(ns).for_flag("--namespace")?;
            ns.clone()
        }
        None => CONTROL_PLANE_NAMESPACE.to_string(),
    };
    let port = args.port.as_deref().map(validate::parse_port).transpose().for_flag("--port")?;
    let address = match args.address.trim() {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other.parse::<IpAddr>().map_err(|_| {
            ValidationError::new(
                "--address",
                &args.address,
                "use an IP address such as 127.0.0.1, ::1 or 0.0.0.0, or localhost",
            )
        })?,
    };
    let wait = match args.wait.as_deref() {
        None => None,
        Some(text) => {
            let nanos = validate::parse_go_duration(text).for_flag("--wait")?;
            let nanos = u64::try_from(nanos).map_err(|_| {
                ValidationError::new("--wait", text, "use a duration that is not negative")
            })?;
            (nanos > 0).then(|| Duration::from_nanos(nanos))
        }
    };
    Ok(Plan { addon: args.addon, namespace, port, address, wait, browser: !args.no_browser })
}

/// Runs `dashboard`.
pub async fn run(
    global: &GlobalArgs,
    args: DashboardArgs,
    ui: &mut Ui,
) -> anyhow::Result<ExitStatus> {
    let plan = plan(global, &args)?;
    let info = addon::info(plan.addon);
    // A port the user chose is taken before anything is asked of the cluster.
    let mut listener = match plan.port {
        Some(port) => {
            Some(listen(plan.address, port).await.map_err(|e| port_in_use(&plan, port, &e))?)
        }
        None => None,
    };

    let cluster = Arc::new(Cluster::connect(global).await?);
    let (service, note) = target::find_service(&cluster, plan.addon, &plan.namespace).await?;
    if let Some(note) = note {
        ui.note(&note);
    }
    let (mut pod, mut backend) = first_pod(&cluster, &service, plan.wait, ui).await?;
    let web_root = web_root(&cluster, plan.addon, info, &pod, backend.port, ui).await;

    // One forward before the URL is printed, so a refusal (RBAC) stops here, not in the browser.
    for attempt in 1..=PROBE_ATTEMPTS {
        match cluster.port_forward(&backend.namespace, &backend.pod, backend.port).await {
            Ok(forward) => {
                drop(forward);
                break;
            }
            Err(e) if forward::is_pod_gone(&e) && attempt < PROBE_ATTEMPTS => {
                let candidates = target::candidates(&cluster, &service).await?;
                let (next, port) = target::pick(&candidates, Some(&backend.pod))
                    .ok_or_else(|| target::no_ready_pod(&service, &candidates, ""))?;
                backend = backend_of(&next, port);
                pod = next;
            }
            // Whatever the server's status, a refused forward is the cluster's problem (a 400
            // says the pod has no node yet), not a write of ours it rejected.
            Err(e) => return Err(e.with_exit_status(ExitStatus::Cluster).into()),
        }
    }

    let listener = match listener.take() {
        Some(listener) => listener,
        None => match listen(plan.address, backend.port).await {
            Ok(listener) => listener,
            Err(e) => {
                let listener =
                    listen(plan.address, 0).await.map_err(|e| port_in_use(&plan, 0, &e))?;
                let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
                ui.note(&format!("local port {} is not free ({e}); using {port}", backend.port));
                listener
            }
        },
    };
    let local = listener.local_addr()?;
    let url = url(local, &web_root);
    if !plan.address.is_loopback() {
        ui.warn(&format!(
            "listening on {local}: the {} dashboard is reachable from the network, with the \
             access of whoever uses it; use --address 127.0.0.1 to keep it local",
            info.title
        ));
    }

    // Ctrl-C is handled from here on: the listener closes and the command exits 0.
    let stop = stop_signal()?;
    ui.progress(&format!(
        "Forwarding {local} -> pod {} port {} (Service {}); press Ctrl-C to stop",
        pod.id(),
        backend.port,
        service.id()
    ));
    ui.text(&format!("{url}\n"))?;
    ui.flush()?;
    if plan.browser {
        match browser::open(&url) {
            Ok(_) => {}
            Err(why) => ui.note(&format!("cannot open a browser ({why}); open {url} yourself")),
        }
    }

    let (events, received) = mpsc::unbounded_channel();
    let session = forward::Session::new(cluster.clone(), service, backend, events);
    let accepted = forward::serve(listener, session, received, stop, ui).await;
    ui.progress(&format!(
        "Stopped after {}",
        crate::output::count(accepted, "connection", "connections")
    ));
    Ok(ExitStatus::Success)
}

fn backend_of(pod: &Pod, port: u16) -> Backend {
    Backend { namespace: pod.metadata.namespace.clone(), pod: pod.metadata.name.clone(), port }
}

/// The first pod to forward to, waiting for one to be ready when `--wait` allows.
async fn first_pod(
    cluster: &Cluster,
    service: &AddonService,
    wait: Option<Duration>,
    ui: &mut Ui,
) -> Result<(Pod, Backend), ClusterError> {
    let started = Instant::now();
    let mut told = false;
    loop {
        let candidates = target::candidates(cluster, service).await?;
        if let Some((pod, port)) = target::pick(&candidates, None) {
            let backend = backend_of(&pod, port);
            return Ok((pod, backend));
        }
        let Some(wait) = wait.filter(|w| started.elapsed() < *w) else {
            let waited = wait.map(|w| format!(" within {}", humantime(w))).unwrap_or_default();
            return Err(target::no_ready_pod(service, &candidates, &waited));
        };
        if !told {
            ui.progress(&format!(
                "Waiting up to {} for a ready pod behind Service {}",
                humantime(wait),
                service.id()
            ));
            told = true;
        }
        tokio::time::sleep(WAIT_POLL.min(wait.saturating_sub(started.elapsed()))).await;
    }
}

/// The web root, from the addon's ConfigMap or pod; the default, with a note, when the
/// ConfigMap cannot be read.
async fn web_root(
    cluster: &Cluster,
    addon: Addon,
    info: &AddonInfo,
    pod: &Pod,
    port: u16,
    ui: &mut Ui,
) -> String {
    let container = pod.container_for(port);
    let Some(name) = addon::config_map_name(info, pod) else {
        return addon::web_root(addon, container, None);
    };
    let namespace = &pod.metadata.namespace;
    let read = async {
        let resource = cluster.resource(&kinds::CONFIG_MAP).await?;
        cluster.get(&resource, Some(namespace), &name).await
    };
    let config = match read.await {
        Ok(Some(value)) => serde_json::from_value::<ConfigMap>(value).ok(),
        Ok(None) => None,
        Err(e) => {
            let root = addon::web_root(addon, container, None);
            ui.note(&format!(
                "cannot read ConfigMap {namespace}/{name} ({}); assuming the web root is {root}",
                e.failure()
            ));
            return root;
        }
    };
    let text = config.as_ref().and_then(|c| c.data.get("config.yaml")).map(String::as_str);
    addon::web_root(addon, container, text)
}

async fn listen(address: IpAddr, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(address, port)).await
}

fn port_in_use(plan: &Plan, port: u16, e: &std::io::Error) -> anyhow::Error {
    let addr = SocketAddr::new(plan.address, port);
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => "the port is in use".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::AddrNotAvailable => "the address is not on this machine".to_string(),
        _ => e.to_string(),
    };
    let (flag, fix) = if port == 0 {
        ("--address", "use an address of this machine")
    } else {
        ("--port", "choose another port, or leave --port out to use a free one")
    };
    UsageError::new(format!("cannot listen on {addr} ({flag}): {why}; {fix}")).into()
}

/// The URL to open: a wildcard address is reached through loopback.
fn url(local: SocketAddr, web_root: &str) -> String {
    let host = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!("http://{host}:{}{web_root}", local.port())
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere), registered now.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere), registered now.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[&str]) -> (GlobalArgs, DashboardArgs) {
        use clap::Parser;
        let mut full = vec!["kubectl-debatemesh"];
        full.extend_from_slice(line);
        let cli = crate::cli::Cli::try_parse_from(full).unwrap();
        match cli.command {
            crate::cli::Command::Dashboard(a) => (cli.global, a),
            _ => unreachable!("the line is a dashboard command"),
        }
    }

    fn planned(line: &[&str]) -> Result<Plan, String> {
        let (global, args) = args(line);
        plan(&global, &args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_kiali_on_loopback_in_istio_system() {
        let p = planned(&["dashboard"]).unwrap();
        assert_eq!(p.addon, Addon::Kiali);
        assert_eq!(p.namespace, "istio-system");
        assert_eq!(p.address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!((p.port, p.wait, p.browser), (None, None, true));
        let p =
            planned(&["dashboard", "jaeger", "-n", "tracing", "--port", "8080", "--wait", "1m"])
                .unwrap();
        assert_eq!((p.addon, p.namespace.as_str()), (Addon::Jaeger, "tracing"));
        assert_eq!((p.port, p.wait), (Some(8080), Some(Duration::from_secs(60))));
        assert_eq!(planned(&["dashboard", "--address", "localhost"]).unwrap().address, p.address);
    }

    #[test]
    fn bad_flags_name_the_flag_and_what_is_allowed() {
        let err = planned(&["dashboard", "--port", "0"]).unwrap_err();
        assert_eq!(err, "invalid value \"0\" for --port: ports are whole numbers from 1 to 65535");
        let err = planned(&["dashboard", "--address", "my-laptop"]).unwrap_err();
        assert!(err.starts_with("invalid value \"my-laptop\" for --address: use an IP"), "{err}");
        let err = planned(&["dashboard", "--wait", "soon"]).unwrap_err();
        assert!(err.starts_with("invalid value \"soon\" for --wait"), "{err}");
        let err = planned(&["dashboard", "--wait=-1s"]).unwrap_err();
        assert!(err.contains("not negative"), "{err}");
        assert!(planned(&["dashboard", "-o", "json"]).unwrap_err().contains("for -o"));
    }

    #[test]
    fn urls_reach_wildcard_addresses_through_loopback() {
        let at = |a: &str| a.parse::<SocketAddr>().unwrap();
        assert_eq!(url(at("127.0.0.1:20001"), "/kiali"), "http://127.0.0.1:20001/kiali");
        assert_eq!(url(at("0.0.0.0:3000"), "/"), "http://127.0.0.1:3000/");
        assert_eq!(url(at("[::]:9090"), "/"), "http://[::1]:9090/");
        assert_eq!(url(at("[::1]:9090"), "/graph"), "http://[::1]:9090/graph");
    }
}
