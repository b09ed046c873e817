//! The rule for the fields of `POST /containers/create`'s body: every field strata honours
//! is read into typed fields ([`super::wire::CreateBody`]); every field of Docker's
//! `container.Config`, `HostConfig` (and its `Mounts[]` entries) and `NetworkingConfig` that
//! strata does not implement is taken only at a value that asks for nothing (the value the
//! Docker CLIs send when no flag sets it: null, false, 0, "", [] or {} — or an array or
//! object of such values — or a value listed here that is what strata does anyway), and
//! refused naming the field otherwise; a field name Docker's API does not have is refused.
//!
//! The lists come from the bodies Debian's Docker 20.10 CLI (API 1.41) and Docker 28's
//! (API 1.50) send for `docker create`/`run` with no flag and with each flag.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The fields of one JSON object of the body.
struct Fields {
    /// How the message names a field of this object (`HostConfig.`).
    prefix: &'static str,
    /// Fields read into typed fields (and checked there).
    honoured: &'static [&'static str],
    /// Fields strata does not implement, with the values (JSON) taken besides zero ones.
    unsupported: &'static [(&'static str, &'static [&'static str])],
    /// Honoured fields that are objects (or arrays of objects) checked by their own rules.
    nested: &'static [(&'static str, &'static Fields)],
}

/// `container.Config` (the body's top level).
const CONFIG: Fields = Fields {
    prefix: "",
    honoured: &[
        "Hostname",
        "User",
        "AttachStdout",
        "AttachStderr",
        "Tty",
        "OpenStdin",
        "Env",
        "Cmd",
        "Image",
        "Volumes",
        "WorkingDir",
        "Entrypoint",
        "Labels",
        "StopSignal",
        "StopTimeout",
        "HostConfig",
        "NetworkingConfig",
    ],
    unsupported: &[
        ("Domainname", &[]),
        ("AttachStdin", &[]),
        ("StdinOnce", &[]),
        ("ExposedPorts", &[]),
        ("Healthcheck", &[]),
        ("ArgsEscaped", &[]),
        ("NetworkDisabled", &[]),
        ("MacAddress", &[]),
        ("OnBuild", &[]),
        ("Shell", &[]),
    ],
    nested: &[("HostConfig", &HOST), ("NetworkingConfig", &NETWORKING)],
};

/// `HostConfig`.
const HOST: Fields = Fields {
    prefix: "HostConfig.",
    honoured: &[
        "Binds",
        "Mounts",
        "Memory",
        "NanoCpus",
        "ReadonlyRootfs",
        "AutoRemove",
        "NetworkMode",
        "CapAdd",
        "CapDrop",
        "SecurityOpt",
        "PidsLimit",
        "Tmpfs",
        "RestartPolicy",
        "Init",
        "GroupAdd",
        // The CLI writes the id file itself; the daemon never reads it.
        "ContainerIDFile",
    ],
    unsupported: &[
        ("LogConfig", &[r#"{"Type":"json-file","Config":{}}"#]),
        ("PortBindings", &[]),
        ("PublishAllPorts", &[]),
        ("VolumeDriver", &[r#""local""#]),
        ("VolumesFrom", &[]),
        ("ConsoleSize", &[]),
        ("Annotations", &[]),
        ("Capabilities", &[]),
        ("CgroupnsMode", &[r#""host""#]),
        ("Dns", &[]),
        ("DnsOptions", &[]),
        ("DnsSearch", &[]),
        ("ExtraHosts", &[]),
        ("IpcMode", &[r#""private""#]),
        ("Cgroup", &[]),
        ("Links", &[]),
        ("OomScoreAdj", &[]),
        ("PidMode", &[]),
        ("Privileged", &[]),
        ("StorageOpt", &[]),
        ("Sysctls", &[]),
        ("UTSMode", &[]),
        ("UsernsMode", &[]),
        ("ShmSize", &["67108864"]),
        ("Runtime", &[r#""runc""#]),
        ("Isolation", &[r#""default""#]),
        ("CpuShares", &[]),
        ("CgroupParent", &[]),
        ("BlkioWeight", &[]),
        ("BlkioWeightDevice", &[]),
        ("BlkioDeviceReadBps", &[]),
        ("BlkioDeviceWriteBps", &[]),
        ("BlkioDeviceReadIOps", &[]),
        ("BlkioDeviceWriteIOps", &[]),
        ("CpuPeriod", &[]),
        ("CpuQuota", &[]),
        ("CpuRealtimePeriod", &[]),
        ("CpuRealtimeRuntime", &[]),
        ("CpusetCpus", &[]),
        ("CpusetMems", &[]),
        ("Devices", &[]),
        ("DeviceCgroupRules", &[]),
        ("DeviceRequests", &[]),
        ("KernelMemory", &[]),
        ("KernelMemoryTCP", &[]),
        ("MemoryReservation", &[]),
        ("MemorySwap", &[]),
        ("MemorySwappiness", &["-1"]),
        ("OomKillDisable", &[]),
        ("Ulimits", &[]),
        ("CpuCount", &[]),
        ("CpuPercent", &[]),
        ("IOMaximumIOps", &[]),
        ("IOMaximumBandwidth", &[]),
        ("MaskedPaths", &[]),
        ("ReadonlyPaths", &[]),
    ],
    nested: &[("Mounts", &MOUNT), ("RestartPolicy", &RESTART_POLICY)],
};

/// `HostConfig.RestartPolicy` (its values are checked with the typed fields).
const RESTART_POLICY: Fields = Fields {
    prefix: "HostConfig.RestartPolicy.",
    honoured: &["Name", "MaximumRetryCount"],
    unsupported: &[],
    nested: &[],
};

/// `NetworkingConfig`: strata gives every container an empty network namespace, so only
/// endpoint settings that ask for nothing pass.
const NETWORKING: Fields = Fields {
    prefix: "NetworkingConfig.",
    honoured: &[],
    unsupported: &[("EndpointsConfig", &[])],
    nested: &[],
};

/// One `HostConfig.Mounts[]` entry (moby `mount.Mount`).
const MOUNT: Fields = Fields {
    prefix: "HostConfig.Mounts[].",
    honoured: &["Type", "Source", "Target", "ReadOnly"],
    unsupported: &[
        ("Consistency", &[r#""default""#]),
        ("BindOptions", &[]),
        ("VolumeOptions", &[]),
        ("TmpfsOptions", &[]),
        ("ImageOptions", &[]),
        ("ClusterOptions", &[]),
    ],
    nested: &[],
};

/// Whether `value` asks for nothing: null, false, 0, "", or an array or object of such.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(is_zero),
        Value::Object(map) => map.values().all(is_zero),
    }
}

impl Fields {
    /// Refuses the first field of `object` that is unknown, or unsupported at a value that
    /// asks for something.
    fn check(&self, object: &Map<String, Value>) -> Result<()> {
        for (name, value) in object {
            if self.honoured.contains(&name.as_str()) {
                if let Some((_, inner)) = self.nested.iter().find(|(n, _)| n == name) {
                    inner.check_value(name, value)?;
                }
                continue;
            }
            let Some((_, also)) = self.unsupported.iter().find(|(n, _)| n == name) else {
                return Err(Error::Invalid(format!(
                    "unknown field {}{name}: not supported by strata's engine",
                    self.prefix
                )));
            };
            let taken = is_zero(value)
                || also
                    .iter()
                    .any(|text| serde_json::from_str::<Value>(text).is_ok_and(|v| v == *value));
            if !taken {
                return Err(Error::Invalid(format!(
                    "{}{name} is not supported by strata's engine (got {value})",
                    self.prefix
                )));
            }
        }
        Ok(())
    }

    /// Checks the value of the honoured field `name`: an object, an array of objects, or
    /// null.
    fn check_value(&self, name: &str, value: &Value) -> Result<()> {
        match value {
            Value::Null => Ok(()),
            Value::Object(object) => self.check(object),
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| self.check_value(name, item)),
            other => Err(Error::Invalid(format!(
                "{name} must be an object, not {other}"
            ))),
        }
    }
}

/// Checks a create body's fields by the rule above; the error names the first field
/// refused.
pub fn check(body: &Map<String, Value>) -> Result<()> {
    CONFIG.check(body)
}

/// Checks the query parameters of `POST /containers/create`: `name`, and `platform` only
/// when it is empty or names this host's (`linux`, `linux/amd64`); anything else is refused
/// naming it.
pub fn check_query(query: &HashMap<String, String>) -> Result<()> {
    for (key, value) in query {
        match key.as_str() {
            "name" => {}
            "platform" => {
                let host = format!("linux/{}", crate::image::config::go_arch());
                let ours = value.is_empty()
                    || value == "linux"
                    || value == &host
                    || value
                        .strip_prefix(&host)
                        .is_some_and(|v| v.starts_with('/'));
                if !ours {
                    return Err(Error::Invalid(format!(
                        "platform {value:?} is not supported by strata's engine (only {host})"
                    )));
                }
            }
            other => {
                return Err(Error::Invalid(format!(
                    "unknown query parameter {other}: not supported by strata's engine"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_clis_plain_bodies_pass() {
        check(&object(include_str!("create_body_20.10.json"))).unwrap();
        check(&object(include_str!("create_body_28.json"))).unwrap();
    }

    #[test]
    fn asking_for_an_unsupported_field_is_refused_naming_it() {
        let refused = |text: &str| check(&object(text)).unwrap_err().to_string();
        let err = refused(r#"{"Image":"x","HostConfig":{"Privileged":true}}"#);
        assert!(
            err.starts_with("HostConfig.Privileged is not supported"),
            "{err}"
        );
        let err = refused(r#"{"Image":"x","Bogus":1}"#);
        assert!(err.contains("unknown field Bogus"), "{err}");
        let err = refused(r#"{"Image":"x","HostConfig":{"Bogus":0}}"#);
        assert!(err.contains("HostConfig.Bogus"), "{err}");
        let err = refused(r#"{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}"#);
        assert!(err.contains("HostConfig.PortBindings"), "{err}");
        let err = refused(r#"{"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":["a"]}}}}"#);
        assert!(err.contains("NetworkingConfig.EndpointsConfig"), "{err}");
        let err = refused(
            r#"{"HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/t",
                "TmpfsOptions":{"SizeBytes":1024}}]}}"#,
        );
        assert!(err.contains("HostConfig.Mounts[].TmpfsOptions"), "{err}");
        let err = refused(r#"{"HostConfig":{"RestartPolicy":{"Name":"no","Delay":1}}}"#);
        assert!(err.contains("HostConfig.RestartPolicy.Delay"), "{err}");
        let query = |pairs: &[(&str, &str)]| {
            let q: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            check_query(&q)
        };
        assert!(query(&[("name", "x"), ("platform", "")]).is_ok());
        assert!(query(&[("platform", "linux")]).is_ok());
        let err = query(&[("platform", "windows/amd64")]).unwrap_err();
        assert!(err.to_string().contains("windows/amd64"), "{err}");
        let err = query(&[("bogus", "1")]).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = refused(r#"{"HostConfig":7}"#);
        assert!(err.contains("HostConfig must be an object"), "{err}");
        check(&object(
            r#"{"HostConfig":{"ShmSize":67108864,"MemorySwappiness":-1,
                "Mounts":[{"Type":"volume","Source":"v","Target":"/v"}]}}"#,
        ))
        .unwrap();
    }
}
