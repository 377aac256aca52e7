//! `completion bash|zsh|fish` prints a script that asks the binary itself for candidates
//! (`__complete`), and `completion kubectl-shim DIR` writes the `kubectl_complete-debatemesh`
//! executable that kubectl runs for `kubectl debatemesh <TAB>`.

use std::path::Path;

use anyhow::Context;

use crate::{
    cli::{CompletionArgs, Shell, ShimCommand},
    error::{ExitStatus, UsageError},
    output::Ui,
};

const BASH: &str = r#"# bash completion for kubectl-debatemesh; load with: source <(kubectl-debatemesh completion bash)
_kubectl_debatemesh() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local reply directive line
    reply=$(kubectl-debatemesh __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
    directive=${reply##*:}
    COMPREPLY=()
    while IFS= read -r line; do
        [[ -z $line || $line == :* ]] && continue
        line=${line%%$'\t'*}
        [[ $line == "$cur"* ]] && COMPREPLY+=("$line")
    done <<< "$reply"
    if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
    if (( ${#COMPREPLY[@]} == 0 )) && (( (directive & 4) == 0 )); then
        compopt -o default 2>/dev/null
    fi
}
complete -o nosort -F _kubectl_debatemesh kubectl-debatemesh
"#;

const ZSH: &str = r#"#compdef kubectl-debatemesh
# zsh completion for kubectl-debatemesh; load with: source <(kubectl-debatemesh completion zsh)
_kubectl_debatemesh() {
    local -a lines candidates
    local directive line
    lines=("${(@f)$(kubectl-debatemesh __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
    directive=${${lines[-1]}#:}
    lines=("${(@)lines[1,-2]}")
    for line in $lines; do
        [[ -z $line ]] && continue
        candidates+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
    done
    if (( ${#candidates} )); then
        _describe -t values 'kubectl-debatemesh' candidates
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}
if (( $+functions[compdef] )); then compdef _kubectl_debatemesh kubectl-debatemesh; fi
"#;

const FISH: &str = r#"# fish completion for kubectl-debatemesh; load with: kubectl-debatemesh completion fish | source
function __kubectl_debatemesh_candidates
    set -l words (commandline -opc)
    set -e words[1]
    set -l reply (kubectl-debatemesh __complete $words (commandline -ct) 2>/dev/null)
    or return
    set -e reply[-1]
    for line in $reply
        echo $line
    end
end
complete -c kubectl-debatemesh -f -a '(__kubectl_debatemesh_candidates)'
"#;

/// The shim kubectl runs to complete `kubectl debatemesh ...`.
pub const SHIM_NAME: &str = "kubectl_complete-debatemesh";

const SHIM: &str = "#!/bin/sh\n\
# Completion for `kubectl debatemesh`: kubectl runs this with the words after the plugin name.\n\
exec kubectl-debatemesh __complete \"$@\"\n";

/// Prints a script or writes the shim.
pub fn run(args: CompletionArgs, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    if let Some(ShimCommand::KubectlShim { dir }) = args.shim {
        let path = write_shim(&dir)?;
        ui.text(&format!("wrote {}\n", path.display()))?;
        ui.note("kubectl runs it for `kubectl debatemesh <TAB>` when the folder is on PATH");
        return Ok(ExitStatus::Success);
    }
    let script = match args.shell {
        Some(Shell::Bash) => BASH,
        Some(Shell::Zsh) => ZSH,
        Some(Shell::Fish) => FISH,
        None => return Err(UsageError::new("name a shell: bash, zsh or fish").into()),
    };
    ui.text(script)?;
    Ok(ExitStatus::Success)
}

fn write_shim(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    if !dir.is_dir() {
        return Err(UsageError::new(format!("{} is not a folder", dir.display())).into());
    }
    let path = dir.join(SHIM_NAME);
    std::fs::write(&path, SHIM).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(path)
}
