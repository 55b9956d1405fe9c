//! Seccomp profiles in the OCI runtime-spec format and in Docker's
//! extension of it (`archMap`, `includes`/`excludes`): parsing from JSON
//! bytes, evaluation of Docker's conditions against a capability set, and
//! output as plain OCI JSON. Pure: bytes in, values out.

use crate::action::Action;
use serde_json::{Map, Value, json};

/// An argument comparison, as OCI says it. For `MaskedEq`, `value` is the
/// mask and `value_two` the expected result: `(arg & value) == value_two`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arg {
    pub index: u8,
    pub value: u64,
    pub value_two: u64,
    pub op: Op,
}

impl Arg {
    /// Whether a 64-bit argument value satisfies the comparison (unsigned,
    /// as libseccomp compares).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn holds(&self, arg: u64) -> bool {
        match self.op {
            Op::Eq => arg == self.value,
            Op::Ne => arg != self.value,
            Op::Lt => arg < self.value,
            Op::Le => arg <= self.value,
            Op::Gt => arg > self.value,
            Op::Ge => arg >= self.value,
            Op::MaskedEq => arg & self.value == self.value_two,
        }
    }
}

/// The architectures of an x86_64 kernel, and any other name a profile
/// may carry (kept for the JSON, never compiled).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    X86,
    X32,
    Other(String),
}

impl Arch {
    pub fn from_oci(name: &str) -> Arch {
        match name {
            "SCMP_ARCH_X86_64" => Arch::X86_64,
            "SCMP_ARCH_X86" => Arch::X86,
            "SCMP_ARCH_X32" => Arch::X32,
            other => Arch::Other(other.to_string()),
        }
    }

    pub fn oci(&self) -> &str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::X86 => "SCMP_ARCH_X86",
            Arch::X32 => "SCMP_ARCH_X32",
            Arch::Other(name) => name,
        }
    }

    /// The name Docker's `includes.arches`/`excludes.arches` use (Go's).
    pub fn go_name(&self) -> Option<&'static str> {
        match self {
            Arch::X86_64 => Some("amd64"),
            Arch::X86 => Some("x86"),
            Arch::X32 => Some("x32"),
            Arch::Other(_) => None,
        }
    }
}

/// Docker's `includes` / `excludes` of one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// `CAP_*` names.
    pub caps: Vec<String>,
    /// Go architecture names (`amd64`, `x86`, `arm64`, ...).
    pub arches: Vec<String>,
    /// `minKernel` as (major, minor).
    pub min_kernel: Option<(u32, u32)>,
}

impl Condition {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// A syscall name: borrowed from the built-in profile's data, owned when
/// parsed (the built-in profile then costs no allocation per name).
pub type Name = std::borrow::Cow<'static, str>;

/// One `syscalls[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub names: Vec<Name>,
    pub action: Action,
    pub args: Vec<Arg>,
    pub includes: Condition,
    pub excludes: Condition,
    pub comment: Option<String>,
}

/// A whole profile. After [`Profile::evaluate`], `arch_map` is empty and
/// every entry's `includes`/`excludes` are empty: a plain OCI profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub default_action: Action,
    pub architectures: Vec<Arch>,
    /// Docker's `archMap`: an architecture and its sub-architectures.
    pub arch_map: Vec<(Arch, Vec<Arch>)>,
    /// `SECCOMP_FILTER_FLAG_*` names.
    pub flags: Vec<String>,
    pub syscalls: Vec<Entry>,
}

/// What Docker's conditions are evaluated against.
pub struct Context<'a> {
    /// Whether the capability (a `CAP_*` name) is in the bounding set that
    /// will be in force.
    pub has_cap: &'a dyn Fn(&str) -> bool,
    /// The running kernel's (major, minor).
    pub kernel: (u32, u32),
}

/// The native architecture this build runs on.
pub const NATIVE: Arch = Arch::X86_64;

impl Profile {
    /// Evaluates Docker's extensions the way moby and containers/common do:
    /// the architectures are the native one and its `archMap`
    /// sub-architectures (or `architectures` when there is no map entry for
    /// it); an entry is kept when all its `includes` hold (every listed cap
    /// present, the native arch listed, the kernel at least minKernel) and
    /// none of its `excludes` does (no listed cap present, the native arch
    /// not listed, the kernel below minKernel).
    /// Consumes the profile: its entries move into the result (no copy of
    /// hundreds of names, and nothing to free before the exec).
    pub fn evaluate(self, ctx: &Context) -> Profile {
        let native = NATIVE.go_name().unwrap_or_default();
        let architectures = match self.arch_map.iter().find(|(a, _)| *a == NATIVE) {
            Some((arch, subs)) => std::iter::once(arch.clone())
                .chain(subs.iter().cloned())
                .collect(),
            None => self.architectures,
        };
        let at_least = |min: (u32, u32)| ctx.kernel >= min;
        let keep = |e: &Entry| {
            let inc = &e.includes;
            let exc = &e.excludes;
            let included = inc.caps.iter().all(|c| (ctx.has_cap)(c))
                && (inc.arches.is_empty() || inc.arches.iter().any(|a| a == native))
                && inc.min_kernel.is_none_or(at_least);
            let excluded = exc.caps.iter().any(|c| (ctx.has_cap)(c))
                || exc.arches.iter().any(|a| a == native)
                || exc.min_kernel.is_some_and(at_least);
            included && !excluded
        };
        Profile {
            default_action: self.default_action,
            architectures,
            arch_map: Vec::new(),
            flags: self.flags,
            syscalls: self
                .syscalls
                .into_iter()
                .filter(|e| keep(e))
                .map(|e| Entry {
                    includes: Condition::default(),
                    excludes: Condition::default(),
                    ..e
                })
                .collect(),
        }
    }

    /// The profile as OCI JSON (what `linux.seccomp` of a config.json
    /// holds), with Docker's extensions when they are still there.
    pub fn to_json(&self) -> Value {
        let mut top = Map::new();
        let (name, data) = self.default_action.oci();
        top.insert("defaultAction".into(), json!(name));
        if let Some(d) = data {
            top.insert("defaultErrnoRet".into(), json!(d));
        }
        if !self.arch_map.is_empty() {
            let map: Vec<Value> = self
                .arch_map
                .iter()
                .map(|(a, subs)| {
                    json!({"architecture": a.oci(), "subArchitectures": subs.iter().map(Arch::oci).collect::<Vec<_>>()})
                })
                .collect();
            top.insert("archMap".into(), json!(map));
        }
        top.insert(
            "architectures".into(),
            json!(self.architectures.iter().map(Arch::oci).collect::<Vec<_>>()),
        );
        if !self.flags.is_empty() {
            top.insert("flags".into(), json!(self.flags));
        }
        let entries: Vec<Value> = self.syscalls.iter().map(entry_json).collect();
        top.insert("syscalls".into(), json!(entries));
        Value::Object(top)
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Eq => "SCMP_CMP_EQ",
        Op::Ne => "SCMP_CMP_NE",
        Op::Lt => "SCMP_CMP_LT",
        Op::Le => "SCMP_CMP_LE",
        Op::Gt => "SCMP_CMP_GT",
        Op::Ge => "SCMP_CMP_GE",
        Op::MaskedEq => "SCMP_CMP_MASKED_EQ",
    }
}

fn condition_json(c: &Condition) -> Value {
    let mut m = Map::new();
    if !c.caps.is_empty() {
        m.insert("caps".into(), json!(c.caps));
    }
    if !c.arches.is_empty() {
        m.insert("arches".into(), json!(c.arches));
    }
    if let Some((major, minor)) = c.min_kernel {
        m.insert("minKernel".into(), json!(format!("{major}.{minor}")));
    }
    Value::Object(m)
}

fn entry_json(e: &Entry) -> Value {
    let mut m = Map::new();
    m.insert("names".into(), json!(e.names));
    let (name, data) = e.action.oci();
    m.insert("action".into(), json!(name));
    if let Some(d) = data {
        m.insert("errnoRet".into(), json!(d));
    }
    if !e.args.is_empty() {
        let args: Vec<Value> = e
            .args
            .iter()
            .map(|a| json!({"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": op_name(a.op)}))
            .collect();
        m.insert("args".into(), json!(args));
    }
    if let Some(c) = &e.comment {
        m.insert("comment".into(), json!(c));
    }
    if !e.includes.is_empty() {
        m.insert("includes".into(), condition_json(&e.includes));
    }
    if !e.excludes.is_empty() {
        m.insert("excludes".into(), condition_json(&e.excludes));
    }
    Value::Object(m)
}

/// Parses a profile (OCI or Docker format) from JSON bytes. Errors are one
/// line; JSON syntax errors carry serde_json's line and column.
pub fn parse(bytes: &[u8]) -> Result<Profile, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    // The parsed tree is left unfreed: the process execs soon, and musl's
    // allocator would hand the freed pages back one munmap at a time. A
    // fuzzing build (fuzz/) frees it: it parses millions in one process.
    #[cfg(not(fuzzing))]
    let doc = std::mem::ManuallyDrop::new(doc);
    let top = doc.as_object().ok_or("the profile is not a JSON object")?;
    for key in top.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            return Err(format!("unknown key '{key}' at the top level"));
        }
    }
    let default_name =
        str_field(top, "defaultAction", "the top level")?.ok_or("defaultAction is missing")?;
    let default_errno = errno_of(top, "defaultErrnoRet", "defaultErrno", "the top level")?;
    let default_action = Action::parse_oci(default_name, default_errno)
        .map_err(|e| format!("defaultAction: {e}"))?;
    if top.contains_key("listenerPath") {
        return Err("listenerPath (SCMP_ACT_NOTIFY) is not supported".into());
    }
    let architectures = str_list(top, "architectures", "the top level")?
        .into_iter()
        .map(|a| Arch::from_oci(&a))
        .collect();
    let mut arch_map = Vec::new();
    if let Some(map) = top.get("archMap") {
        let list = map.as_array().ok_or("archMap is not a list")?;
        for (i, item) in list.iter().enumerate() {
            let where_ = format!("archMap[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| format!("{where_} is not an object"))?;
            let arch = str_field(obj, "architecture", &where_)?
                .ok_or_else(|| format!("{where_}: architecture is missing"))?;
            let subs = str_list(obj, "subArchitectures", &where_)?;
            arch_map.push((
                Arch::from_oci(arch),
                subs.iter().map(|s| Arch::from_oci(s)).collect(),
            ));
        }
    }
    let flags = str_list(top, "flags", "the top level")?;
    for flag in &flags {
        if !KNOWN_FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown flag '{flag}'"));
        }
    }
    let mut syscalls = Vec::new();
    if let Some(list) = top.get("syscalls") {
        let list = list.as_array().ok_or("syscalls is not a list")?;
        for (i, item) in list.iter().enumerate() {
            syscalls.push(parse_entry(item, &format!("syscalls[{i}]"))?);
        }
    }
    Ok(Profile {
        default_action,
        architectures,
        arch_map,
        flags,
        syscalls,
    })
}

const TOP_KEYS: &[&str] = &[
    "defaultAction",
    "defaultErrnoRet",
    "defaultErrno",
    "architectures",
    "archMap",
    "flags",
    "syscalls",
    "listenerPath",
    "listenerMetadata",
];

/// The `SECCOMP_FILTER_FLAG_*` names of the OCI spec.
pub const KNOWN_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

fn parse_entry(item: &Value, where_: &str) -> Result<Entry, String> {
    let obj = item
        .as_object()
        .ok_or_else(|| format!("{where_} is not an object"))?;
    for key in obj.keys() {
        if !ENTRY_KEYS.contains(&key.as_str()) {
            return Err(format!("{where_}: unknown key '{key}'"));
        }
    }
    let mut names: Vec<Name> = str_list(obj, "names", where_)?
        .into_iter()
        .map(Name::Owned)
        .collect();
    // The older Docker format: one "name".
    if let Some(name) = str_field(obj, "name", where_)? {
        names.push(Name::Owned(name.to_string()));
    }
    if names.is_empty() {
        return Err(format!("{where_}: no names"));
    }
    let action_name =
        str_field(obj, "action", where_)?.ok_or_else(|| format!("{where_}: action is missing"))?;
    let errno_ret = errno_of(obj, "errnoRet", "errno", where_)?;
    let action = Action::parse_oci(action_name, errno_ret).map_err(|e| format!("{where_}: {e}"))?;
    let mut args = Vec::new();
    if let Some(list) = obj.get("args").filter(|v| !v.is_null()) {
        let list = list
            .as_array()
            .ok_or_else(|| format!("{where_}: args is not a list"))?;
        for (j, a) in list.iter().enumerate() {
            args.push(parse_arg(a, &format!("{where_}.args[{j}]"))?);
        }
    }
    let includes = parse_condition(obj.get("includes"), &format!("{where_}.includes"))?;
    let excludes = parse_condition(obj.get("excludes"), &format!("{where_}.excludes"))?;
    let comment = str_field(obj, "comment", where_)?.map(str::to_string);
    Ok(Entry {
        names,
        action,
        args,
        includes,
        excludes,
        comment,
    })
}

const ENTRY_KEYS: &[&str] = &[
    "names", "name", "action", "errnoRet", "errno", "args", "includes", "excludes", "comment",
];

fn parse_arg(v: &Value, where_: &str) -> Result<Arg, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{where_} is not an object"))?;
    let index =
        u64_field(obj, "index", where_)?.ok_or_else(|| format!("{where_}: index is missing"))?;
    if index > 5 {
        return Err(format!("{where_}: index {index} is not 0..5"));
    }
    let value =
        u64_field(obj, "value", where_)?.ok_or_else(|| format!("{where_}: value is missing"))?;
    let value_two = u64_field(obj, "valueTwo", where_)?.unwrap_or(0);
    let op_text =
        str_field(obj, "op", where_)?.ok_or_else(|| format!("{where_}: op is missing"))?;
    let op = match op_text {
        "SCMP_CMP_EQ" => Op::Eq,
        "SCMP_CMP_NE" => Op::Ne,
        "SCMP_CMP_LT" => Op::Lt,
        "SCMP_CMP_LE" => Op::Le,
        "SCMP_CMP_GT" => Op::Gt,
        "SCMP_CMP_GE" => Op::Ge,
        "SCMP_CMP_MASKED_EQ" => Op::MaskedEq,
        other => return Err(format!("{where_}: unknown op '{other}'")),
    };
    Ok(Arg {
        index: index as u8,
        value,
        value_two,
        op,
    })
}

fn parse_condition(v: Option<&Value>, where_: &str) -> Result<Condition, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Condition::default());
    };
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{where_} is not an object"))?;
    let min_kernel = match str_field(obj, "minKernel", where_)? {
        None => None,
        Some(text) => Some(
            kernel_version(text)
                .ok_or_else(|| format!("{where_}: minKernel '{text}' is not MAJOR.MINOR"))?,
        ),
    };
    Ok(Condition {
        caps: str_list(obj, "caps", where_)?,
        arches: str_list(obj, "arches", where_)?,
        min_kernel,
    })
}

/// "6.1", "5.8.0-rc1", "6.18.44-fc-v973" -> (major, minor).
pub fn kernel_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// The errno of an entry (or of the default): the number `ret_key`
/// (`errnoRet`), else the name `name_key` (containers-common writes
/// `"errno": "EPERM"` beside, or instead of, the number); both must agree.
fn errno_of(
    obj: &Map<String, Value>,
    ret_key: &str,
    name_key: &str,
    where_: &str,
) -> Result<Option<u64>, String> {
    let number = u64_field(obj, ret_key, where_)?;
    let Some(name) = str_field(obj, name_key, where_)? else {
        return Ok(number);
    };
    let by_name = u64::from(
        crate::action::errno_value(name).map_err(|e| format!("{where_}: {name_key}: {e}"))?,
    );
    match number {
        Some(n) if n != by_name => Err(format!(
            "{where_}: {ret_key} {n} and {name_key} {name} disagree"
        )),
        _ => Ok(Some(by_name)),
    }
}

fn str_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    where_: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{where_}: {key} is not a string")),
    }
}

fn u64_field(obj: &Map<String, Value>, key: &str, where_: &str) -> Result<Option<u64>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{where_}: {key} is not an unsigned 64-bit integer")),
    }
}

fn str_list(obj: &Map<String, Value>, key: &str, where_: &str) -> Result<Vec<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{where_}: {key} holds a value that is not a string"))
            })
            .collect(),
        Some(_) => Err(format!("{where_}: {key} is not a list")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKERISH: &str = r#"{
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
      "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                  {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["cacheflush"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
         "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["futex_waitv"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.16"}}
      ]}"#;

    fn names(p: &Profile) -> Vec<String> {
        p.syscalls
            .iter()
            .flat_map(|e| e.names.iter().map(|n| n.to_string()))
            .collect()
    }

    #[test]
    fn docker_conditions_follow_the_capability_set() {
        let p = parse(DOCKERISH.as_bytes()).unwrap();
        let without = p.clone().evaluate(&Context {
            has_cap: &|_| false,
            kernel: (6, 1),
        });
        assert_eq!(
            without.architectures,
            vec![Arch::X86_64, Arch::X86, Arch::X32]
        );
        assert_eq!(
            names(&without),
            [
                "read",
                "write",
                "bpf",
                "arch_prctl",
                "clone",
                "clone3",
                "futex_waitv"
            ]
        );
        assert_eq!(without.syscalls[1].action, Action::Errno(1));
        let admin = p.clone().evaluate(&Context {
            has_cap: &|c| c == "CAP_SYS_ADMIN",
            kernel: (5, 10),
        });
        assert_eq!(names(&admin), ["read", "write", "bpf", "arch_prctl"]);
        assert_eq!(admin.syscalls[1].action, Action::Allow);
        assert!(admin.arch_map.is_empty());
    }

    #[test]
    fn oci_json_round_trips() {
        let p = parse(DOCKERISH.as_bytes()).unwrap();
        let plain = p.evaluate(&Context {
            has_cap: &|_| false,
            kernel: (6, 1),
        });
        let text = plain.to_json().to_string();
        assert_eq!(parse(text.as_bytes()).unwrap(), plain);
        let masked = &plain.syscalls[3].args[0];
        assert_eq!(masked.op, Op::MaskedEq);
        assert!(masked.holds(0x11));
        assert!(!masked.holds(0x1000_0000));
    }

    #[test]
    fn bad_input_is_one_line_naming_the_place() {
        let e = parse(b"{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [}").unwrap_err();
        assert!(e.contains("line 2 column"), "{e}");
        assert_eq!(
            parse(br#"{"defaultAction":"SCMP_ACT_NOPE"}"#).unwrap_err(),
            "defaultAction: unknown action 'SCMP_ACT_NOPE'"
        );
        assert_eq!(
            parse(br#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":1}]}"#)
                .unwrap_err(),
            "syscalls[0]: errnoRet is given for SCMP_ACT_ALLOW, which returns no errno"
        );
        assert_eq!(
            parse(br#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ABOUT"}]}]}"#)
                .unwrap_err(),
            "syscalls[0].args[0]: unknown op 'SCMP_CMP_ABOUT'"
        );
        assert!(parse(b"[]").is_err());
        assert!(
            parse(br#"{"defaultAction":"SCMP_ACT_ALLOW","syscals":[]}"#)
                .unwrap_err()
                .contains("syscals")
        );
    }

    #[test]
    fn errno_by_name_as_containers_common_writes_it() {
        let p = parse(
            br#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"defaultErrno":"ENOSYS",
            "syscalls":[{"names":["swapon"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"errno":"EPERM"},
                        {"names":["reboot"],"action":"SCMP_ACT_ERRNO","errno":"EACCES"}]}"#,
        )
        .unwrap();
        assert_eq!(p.default_action, Action::Errno(38));
        assert_eq!(p.syscalls[0].action, Action::Errno(1));
        assert_eq!(p.syscalls[1].action, Action::Errno(13));
        let e = parse(br#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"errno":"EACCES"}]}"#)
            .unwrap_err();
        assert_eq!(e, "syscalls[0]: errnoRet 1 and errno EACCES disagree");
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("6.18.44-fc-v973"), Some((6, 18)));
        assert_eq!(kernel_version("5.8"), Some((5, 8)));
        assert_eq!(kernel_version("4"), Some((4, 0)));
        assert_eq!(kernel_version("x"), None);
    }
}
