//! The host's `/etc/passwd` (passwd(5)): `name:password:uid:gid:gecos:home:shell`, one
//! account a line. Only local accounts are read: NIS `+`/`-` lines, comments and lines
//! without seven fields or with a non-numeric id are skipped, as glibc's parser skips them.

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// The user id.
    pub uid: u32,
    /// The home directory (may be empty or missing on disk: `nobody`'s `/nonexistent`).
    pub home: String,
}

/// The superuser among `accounts` (uid 0), else `root` with its usual home: the owner of a
/// host's system stores.
pub fn superuser(accounts: &[Account]) -> Account {
    accounts
        .iter()
        .find(|a| a.uid == 0)
        .cloned()
        .unwrap_or_else(|| Account {
            name: "root".into(),
            uid: 0,
            home: "/root".into(),
        })
}

/// The accounts of the passwd text `text`, in file order.
pub fn parse(text: &str) -> Vec<Account> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Account> {
    if line.starts_with(['#', '+', '-']) {
        return None;
    }
    let fields: Vec<&str> = line.split(':').collect();
    let [name, _password, uid, gid, _gecos, home, _shell] = fields[..] else {
        return None;
    };
    if name.is_empty() || gid.parse::<u32>().is_err() {
        return None;
    }
    Some(Account {
        name: name.to_owned(),
        uid: uid.parse().ok()?,
        home: home.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_accounts_are_read_and_the_rest_skipped() {
        let text = "root:x:0:0:root:/root:/bin/bash\n\
                    # a comment\n\
                    +nisuser::::::\n\
                    broken:x:1000\n\
                    bad:x:one:1:b:/home/bad:/bin/sh\n\
                    :x:5:5::/:/bin/sh\n\
                    alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n\
                    nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin";
        let accounts = parse(text);
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["root", "alice", "nobody"]);
        assert_eq!(
            accounts[1],
            Account {
                name: "alice".into(),
                uid: 1000,
                home: "/home/alice".into(),
            }
        );
    }
}
