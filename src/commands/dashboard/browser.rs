//! Opening the dashboard in a browser: `open` on macOS, `start` on Windows, `xdg-open`
//! elsewhere when a display (X11 or Wayland) is there. Never fails the command.

use std::process::{Command, Stdio};

/// The program and arguments that open `url` on `os` (as `std::env::consts::OS` names it),
/// or `None` when there is nothing to show a browser on.
pub fn opener(os: &str, url: &str, env: impl Fn(&str) -> Option<String>) -> Option<Vec<String>> {
    let words: &[&str] = match os {
        "macos" => &["open"],
        "windows" => &["cmd", "/C", "start", ""],
        _ => {
            let display = ["DISPLAY", "WAYLAND_DISPLAY"]
                .iter()
                .any(|v| env(v).is_some_and(|d| !d.is_empty()));
            if !display {
                return None;
            }
            &["xdg-open"]
        }
    };
    let mut command: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    command.push(url.to_string());
    Some(command)
}

/// Starts a browser on `url` in the background. `Ok(false)` when there is no display; an
/// error message when the opener could not start.
pub fn open(url: &str) -> Result<bool, String> {
    let Some(words) = opener(std::env::consts::OS, url, |v| std::env::var(v).ok()) else {
        return Ok(false);
    };
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", words[0]))?;
    // Reap the opener when it exits, without holding up the forward.
    std::thread::spawn(move || child.wait());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_opens_only_where_one_can_be_shown() {
        let none = |_: &str| None;
        let x11 = |v: &str| (v == "DISPLAY").then(|| ":0".to_string());
        let empty = |_: &str| Some(String::new());
        let url = "http://127.0.0.1:20001/kiali";
        assert_eq!(opener("linux", url, none), None);
        assert_eq!(opener("linux", url, empty), None);
        assert_eq!(opener("linux", url, x11).unwrap(), ["xdg-open", url]);
        assert_eq!(opener("macos", url, none).unwrap(), ["open", url]);
        assert_eq!(opener("windows", url, none).unwrap(), ["cmd", "/C", "start", "", url]);
    }
}
