//! Judge0 language ids for codr's languages. The languages codr shares
//! with Judge0 CE 1.13.x keep Judge0's ids (every id Judge0 gives the
//! language, so `C (GCC 7.4.0)` = 48 and `C (GCC 9.2.0)` = 50 both mean
//! codr's C); any other plugin gets an id derived from its name, outside
//! Judge0's range, so it survives restarts and agrees across gateways that
//! load the same plugins. The list is computed from the loaded plugins on
//! each request: a dropped-in plugin appears without a restart.
use crate::languages::LanguageInfo;

/// Judge0 CE 1.13.x ids of the languages codr ships, by plugin name (the
/// newest first: it is the one a client picking by name gets).
const SHARED: [(&str, &[i64]); 6] = [
    ("c", &[50, 49, 48]),
    ("cpp", &[54, 53, 52]),
    ("java", &[62]),
    ("javascript", &[63]),
    ("python", &[71]),
    ("rust", &[73]),
];

/// The first id given to a plugin Judge0 does not know (Judge0 CE and its
/// hosted flavours stay far below).
pub const DERIVED_START: i64 = 10_000;
/// How many ids derived ids spread over.
const DERIVED_SPAN: u64 = 90_000;

/// One entry of `GET /languages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judge0Language {
    /// The Judge0 id.
    pub id: i64,
    /// Judge0-style name with the version served (`Python (3.11)`).
    pub name: String,
    /// The codr plugin.
    pub language: LanguageInfo,
}

/// Every id the loaded languages answer to, sorted by id.
pub fn list(languages: &[LanguageInfo]) -> Vec<Judge0Language> {
    let mut taken: Vec<i64> = Vec::new();
    let mut out = Vec::new();
    let mut sorted: Vec<&LanguageInfo> = languages.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for lang in sorted {
        let ids: Vec<i64> = match shared_ids(&lang.name) {
            Some(ids) => ids.to_vec(),
            None => vec![derived_id(&lang.name, &taken)],
        };
        for id in ids {
            taken.push(id);
            out.push(Judge0Language {
                id,
                name: display_name(lang),
                language: lang.clone(),
            });
        }
    }
    out.sort_by_key(|l| l.id);
    out
}

/// The language with Judge0 id `id`, if a loaded plugin answers to it.
pub fn find(languages: &[LanguageInfo], id: i64) -> Option<Judge0Language> {
    list(languages).into_iter().find(|l| l.id == id)
}

/// Judge0's ids for a plugin it shares with codr.
fn shared_ids(name: &str) -> Option<&'static [i64]> {
    SHARED.iter().find(|(n, _)| *n == name).map(|(_, ids)| *ids)
}

/// A stable id for a plugin Judge0 does not know: FNV-1a of its name in
/// [`DERIVED_START`]..+90 000; on a clash with an id already `taken`
/// (plugins are numbered in name order), the next free one.
fn derived_id(name: &str, taken: &[i64]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut offset = hash % DERIVED_SPAN;
    loop {
        let id = DERIVED_START + offset as i64;
        if !taken.contains(&id) {
            return id;
        }
        offset = (offset + 1) % DERIVED_SPAN;
    }
}

/// The name Judge0 would give the language served.
fn display_name(lang: &LanguageInfo) -> String {
    let v = &lang.version;
    match lang.name.as_str() {
        "c" => format!("C (GCC {v})"),
        "cpp" => format!("C++ (GCC {v})"),
        "java" => format!("Java (OpenJDK {v})"),
        "javascript" => format!("JavaScript (Node.js {v})"),
        "python" => format!("Python ({v})"),
        "rust" => format!("Rust ({v})"),
        other => {
            let mut chars = other.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            format!("{}{} ({v})", first.unwrap_or_default(), chars.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(name: &str, version: &str) -> LanguageInfo {
        LanguageInfo {
            name: name.into(),
            version: version.into(),
            aliases: Vec::new(),
            extension: String::new(),
            editor_mode: String::new(),
            ..Default::default()
        }
    }

    #[test]
    fn shared_languages_keep_judge0_ids() {
        let langs = [
            lang("python", "3.11"),
            lang("cpp", "12"),
            lang("rust", "1.95"),
        ];
        let ids: Vec<(i64, String)> = list(&langs).into_iter().map(|l| (l.id, l.name)).collect();
        assert_eq!(
            ids,
            [
                (52, "C++ (GCC 12)".to_string()),
                (53, "C++ (GCC 12)".to_string()),
                (54, "C++ (GCC 12)".to_string()),
                (71, "Python (3.11)".to_string()),
                (73, "Rust (1.95)".to_string()),
            ]
        );
        assert_eq!(find(&langs, 71).unwrap().language.name, "python");
        assert!(find(&langs, 70).is_none(), "Python 2 is not Python 3");
    }

    #[test]
    fn other_plugins_get_stable_ids_outside_judge0s_range() {
        let a = list(&[lang("lua", "5.4"), lang("python", "3.11")]);
        let b = list(&[
            lang("python", "3.11"),
            lang("zig", "0.13"),
            lang("lua", "5.4"),
        ]);
        let lua = |l: &[Judge0Language]| l.iter().find(|l| l.language.name == "lua").unwrap().id;
        assert_eq!(lua(&a), lua(&b));
        assert!(lua(&a) >= DERIVED_START);
        assert_eq!(
            a.iter().find(|l| l.id == lua(&a)).unwrap().name,
            "Lua (5.4)"
        );
    }

    #[test]
    fn derived_ids_never_clash() {
        let first = derived_id("lua", &[]);
        let second = derived_id("lua", &[first]);
        assert_ne!(first, second);
        assert!(second >= DERIVED_START && second < DERIVED_START + DERIVED_SPAN as i64);
    }
}
