//! moby's devicemapper driver's bookkeeping (`daemon/graphdriver/devmapper/deviceset.go`,
//! removed in Docker 25). Every layer is a thin device of one thin pool; the data root holds
//! only what describes them:
//!
//! | path under `devicemapper/` | holds |
//! | --- | --- |
//! | `metadata/<id>` | one device (`base` for the base device every layer is a snapshot of): `{"device_id", "size", "transaction_id", "initialized", "deleted"}` |
//! | `metadata/deviceset-metadata` | the pool's: `{"next_device_id", "BaseDeviceUUID", "BaseDeviceFilesystem"}` |
//! | `metadata/transaction-metadata` | the last transaction: `{"open_transaction_id", "device_hash", "device_id"}` |
//! | `devicemapper/data`, `devicemapper/metadata` | the pool's sparse loop files (loop-lvm, the default); absent with `dm.thinpooldev` or direct-lvm |
//! | `devicemapper/setup-config.json` | direct-lvm's setup (`readLVMConfig`) |
//! | `mnt/<id>/` | the device's mount point while it is in use; the layer's files are in its `rootfs/` |
//!
//! A device's `size` is its virtual size in bytes (what its filesystem may grow to, the base
//! device's by default 10 GB), not what it uses: that is in the thin pool. Fields are read
//! as Go's `encoding/json` reads them (a missing field is zero, an unknown one ignored).
//! At start dockerd loads every device file (`loadDeviceFilesOnStart`: all files of
//! `metadata/` but those two and names starting with `.` or ending in `.migrated`); one
//! that is not JSON, or whose `device_id` exceeds the pool's 24 bits, makes the driver fail
//! to start. A damaged `transaction-metadata` is ignored (`loadTransactionMetaData` drops
//! the error).

use serde::Deserialize;

/// `devicemapper/metadata/`: one file per device.
pub const DM_METADATA_DIR: &str = "metadata";
/// `metadata/base`: the base device's file.
pub const DM_BASE_DEVICE: &str = "base";
/// `metadata/deviceset-metadata`: the pool's own record.
pub const DM_DEVICESET_METADATA: &str = "deviceset-metadata";
/// `metadata/transaction-metadata`: the open transaction.
pub const DM_TRANSACTION_METADATA: &str = "transaction-metadata";
/// `devicemapper/devicemapper/`: the loop files' directory (`loopbackDir`).
pub const DM_LOOPBACK_DIR: &str = "devicemapper";
/// `devicemapper/devicemapper/data`: the pool's data loop file.
pub const DM_DATA_FILE: &str = "data";
/// `devicemapper/devicemapper/metadata`: the pool's metadata loop file.
pub const DM_METADATA_FILE: &str = "metadata";
/// `devicemapper/setup-config.json`: direct-lvm's setup.
pub const DM_SETUP_CONFIG: &str = "setup-config.json";
/// `devicemapper/mnt/<id>/`: a device's mount point.
pub const DM_MNT: &str = "mnt";
/// `mnt/<id>/rootfs/`: the layer's files inside its mounted device.
pub const DM_ROOTFS: &str = "rootfs";
/// The largest device id a thin pool takes (`maxDeviceID`: 24 bits).
pub const MAX_DEVICE_ID: i64 = 0xff_ffff;

/// One thin device, as `metadata/<id>` records it (`devInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Device {
    /// The device's id in the thin pool.
    pub device_id: i64,
    /// Its virtual size, bytes.
    pub size: u64,
    /// The pool transaction that created it.
    pub transaction_id: u64,
    /// True once its filesystem was made (the base device).
    pub initialized: bool,
    /// True when it is marked for deferred deletion: dockerd will not mount it.
    pub deleted: bool,
}

/// The pool's own record, `metadata/deviceset-metadata` (the `DeviceSet` fields dockerd
/// marshals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DeviceSet {
    /// The next device id dockerd will try.
    pub next_device_id: i64,
    /// The base device filesystem's UUID.
    #[serde(rename = "BaseDeviceUUID")]
    pub base_device_uuid: String,
    /// The base device's filesystem (`xfs`, `ext4`).
    #[serde(rename = "BaseDeviceFilesystem")]
    pub base_device_filesystem: String,
}

/// The last transaction, `metadata/transaction-metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Transaction {
    /// The transaction's id.
    pub open_transaction_id: u64,
    /// The device it created or deleted (its file's name; empty for the base device).
    pub device_hash: String,
    /// That device's id.
    pub device_id: i64,
}

/// What a file of `metadata/` is to dockerd (`deviceFileWalkFunction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataFile<'a> {
    /// The base device's (`base`).
    Base,
    /// A layer's device, named by the layer's id.
    Layer(&'a str),
    /// The pool's own records, and files dockerd skips (`.` names, `*.migrated`).
    Other,
}

impl<'a> MetadataFile<'a> {
    /// What the file `name` of `metadata/` is.
    pub fn of(name: &'a str) -> MetadataFile<'a> {
        match name {
            DM_BASE_DEVICE => MetadataFile::Base,
            DM_DEVICESET_METADATA | DM_TRANSACTION_METADATA => MetadataFile::Other,
            n if n.starts_with('.') || n.ends_with(".migrated") => MetadataFile::Other,
            n => MetadataFile::Layer(n),
        }
    }
}

/// A JSON object read into `T` as Go reads one into a struct: anything but an object (an
/// array, a string, `null`) is refused.
fn object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match serde_json::from_slice(bytes) {
        Ok(value @ serde_json::Value::Object(_)) => {
            serde_json::from_value(value).map_err(|e| format!("invalid JSON: {e}"))
        }
        Ok(_) => Err("invalid JSON: not an object".to_owned()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

/// Parses a device file; `Err` with why dockerd would refuse it.
pub fn parse_device(bytes: &[u8]) -> Result<Device, String> {
    let device: Device = object(bytes)?;
    if !(0..=MAX_DEVICE_ID).contains(&device.device_id) {
        return Err(format!(
            "device_id {} is not a thin pool's (0 to {MAX_DEVICE_ID})",
            device.device_id
        ));
    }
    Ok(device)
}

/// Parses `deviceset-metadata`; `Err` with why dockerd would refuse it.
pub fn parse_device_set(bytes: &[u8]) -> Result<DeviceSet, String> {
    let set: DeviceSet = object(bytes)?;
    if !(0..=MAX_DEVICE_ID + 1).contains(&set.next_device_id) {
        return Err(format!(
            "next_device_id {} is not a thin pool's (0 to {MAX_DEVICE_ID})",
            set.next_device_id
        ));
    }
    Ok(set)
}

/// Parses `transaction-metadata`; `Err` with what is wrong (dockerd ignores it then).
pub fn parse_transaction(bytes: &[u8]) -> Result<Transaction, String> {
    object(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records as dockerd 20.10 writes them (`json.Marshal` of `devInfo` and of the
    /// `DeviceSet`) read back; damage is refused as dockerd refuses it.
    #[test]
    fn records_read_as_dockerd_writes_them() {
        let base = br#"{"device_id":1,"size":10737418240,"transaction_id":1,"initialized":true,"deleted":false}"#;
        assert_eq!(
            parse_device(base),
            Ok(Device {
                device_id: 1,
                size: 10_737_418_240,
                transaction_id: 1,
                initialized: true,
                deleted: false,
            })
        );
        // Go leaves a missing field zero and ignores an unknown one.
        assert_eq!(
            parse_device(br#"{"device_id":7,"extra":1}"#).map(|d| (d.device_id, d.size)),
            Ok((7, 0))
        );
        for bad in [
            &b"{\"device_id\":1,"[..],
            b"null",
            br#"{"device_id":16777216}"#,
            br#"{"device_id":-1}"#,
            br#"{"size":-5}"#,
        ] {
            assert!(
                parse_device(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let set = br#"{"next_device_id":5,"BaseDeviceUUID":"4c2f1a9e-0b7d-4e1f-9a3c-5d6e7f809a1b","BaseDeviceFilesystem":"xfs"}"#;
        let set = parse_device_set(set).unwrap();
        assert_eq!(
            (set.next_device_id, set.base_device_filesystem.as_str()),
            (5, "xfs")
        );
        assert!(parse_device_set(b"[]").is_err());
        let tx = br#"{"open_transaction_id":4,"device_hash":"abc","device_id":4}"#;
        assert_eq!(parse_transaction(tx).unwrap().device_hash, "abc");
    }

    #[test]
    fn metadata_files_are_sorted_as_dockerd_loads_them() {
        assert_eq!(MetadataFile::of("base"), MetadataFile::Base);
        assert_eq!(
            MetadataFile::of("abc-init"),
            MetadataFile::Layer("abc-init")
        );
        for other in [
            DM_DEVICESET_METADATA,
            DM_TRANSACTION_METADATA,
            ".tmp123",
            "json.migrated",
        ] {
            assert_eq!(MetadataFile::of(other), MetadataFile::Other, "{other}");
        }
    }
}
