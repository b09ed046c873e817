//! `--security-opt`: strata honours `no-new-privileges` (`no-new-privileges`,
//! `no-new-privileges:true|false`, `no-new-privileges=true|false`, as moby's
//! `parseSecurityOpt` reads it) and refuses every other option (seccomp, apparmor, label...)
//! rather than run without it.

use crate::error::{Error, Result};

/// The option strata implements.
const NO_NEW_PRIVILEGES: &str = "no-new-privileges";

/// Whether `opts` ask for the process's `no_new_privs` bit; any option strata does not
/// implement, or a value that is not a boolean, is refused naming it.
pub fn no_new_privileges(opts: &[String]) -> Result<bool> {
    let mut wanted = false;
    for opt in opts {
        let (key, value) = match opt.split_once(['=', ':']) {
            Some((k, v)) => (k, Some(v)),
            None => (opt.as_str(), None),
        };
        if key != NO_NEW_PRIVILEGES {
            return Err(Error::Invalid(format!(
                "HostConfig.SecurityOpt {opt:?} is not supported by strata's engine \
                 (only {NO_NEW_PRIVILEGES}[:true|false])"
            )));
        }
        wanted = match value {
            None | Some("true" | "1" | "True" | "TRUE" | "t" | "T") => true,
            Some("false" | "0" | "False" | "FALSE" | "f" | "F") => false,
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "HostConfig.SecurityOpt {opt:?}: invalid value {other:?} (true or false)"
                )))
            }
        };
    }
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_no_new_privileges_is_honoured() {
        let nnp =
            |o: &[&str]| no_new_privileges(&o.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert!(!nnp(&[]).unwrap());
        assert!(nnp(&["no-new-privileges"]).unwrap());
        assert!(nnp(&["no-new-privileges:true"]).unwrap());
        assert!(!nnp(&["no-new-privileges=false"]).unwrap());
        assert!(nnp(&["no-new-privileges:maybe"]).is_err());
        let err = nnp(&["seccomp=unconfined"]).unwrap_err().to_string();
        assert!(err.contains("seccomp=unconfined"), "{err}");
    }
}
