//! What the rules block, as data: packages, classes and members of the JDK
//! that reach outside a plain console program.

/// Why something is blocked; turned into the end user's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Reading or writing files.
    Files,
    /// Sockets, URLs, remote calls.
    Network,
    /// Starting or controlling processes.
    Processes,
    /// Reflection and class loading.
    Reflection,
    /// The host's environment and the JVM's global settings.
    Environment,
    /// Native code.
    NativeCode,
    /// Compilers, script engines and in-process tools.
    Tools,
    /// JDK internals and management interfaces.
    Internals,
}

impl Reason {
    /// The end user's explanation.
    pub fn explain(self) -> &'static str {
        match self {
            Reason::Files => "file access is not available here",
            Reason::Network => "network access is not available here",
            Reason::Processes => "starting or controlling processes is not available here",
            Reason::Reflection => "reflection and class loading are not available here",
            Reason::Environment => "the environment and JVM-wide settings are not available here",
            Reason::NativeCode => "native code is not available here",
            Reason::Tools => "compilers, script engines and tools are not available here",
            Reason::Internals => "JDK internals are not available here",
        }
    }
}

/// Packages blocked with every class and sub-package in them.
pub const PACKAGES: &[(&str, Reason)] = &[
    ("java.nio.file", Reason::Files),
    ("java.nio.channels", Reason::Files),
    ("java.net", Reason::Network),
    ("javax.net", Reason::Network),
    ("java.rmi", Reason::Network),
    ("javax.naming", Reason::Network),
    ("java.lang.reflect", Reason::Reflection),
    ("java.lang.invoke", Reason::Reflection),
    ("java.lang.instrument", Reason::Internals),
    ("java.lang.management", Reason::Internals),
    ("javax.management", Reason::Internals),
    ("javax.script", Reason::Tools),
    ("javax.tools", Reason::Tools),
    ("java.util.spi", Reason::Tools),
    ("sun", Reason::Internals),
    ("com.sun", Reason::Internals),
    ("jdk", Reason::Internals),
];

/// Classes blocked with all their members (and nested classes).
pub const CLASSES: &[(&str, Reason)] = &[
    ("java.lang.Runtime", Reason::Processes),
    ("java.lang.ProcessBuilder", Reason::Processes),
    ("java.lang.ProcessHandle", Reason::Processes),
    ("java.lang.Process", Reason::Processes),
    ("java.lang.ClassLoader", Reason::Reflection),
    ("java.io.File", Reason::Files),
    ("java.io.FileReader", Reason::Files),
    ("java.io.FileWriter", Reason::Files),
    ("java.io.FileInputStream", Reason::Files),
    ("java.io.FileOutputStream", Reason::Files),
    ("java.io.FileDescriptor", Reason::Files),
    ("java.io.RandomAccessFile", Reason::Files),
];

/// Classes of `java.lang` (imported implicitly) whose simple name is blocked
/// wherever it appears in code, plus `Unsafe` (`sun.misc` / `jdk.internal`).
/// `Process` is not among them: the name is common for user classes, and a
/// `Process` object can only come from the blocked classes.
pub const SIMPLE_NAMES: &[(&str, &str, Reason)] = &[
    ("Runtime", "java.lang.Runtime", Reason::Processes),
    (
        "ProcessBuilder",
        "java.lang.ProcessBuilder",
        Reason::Processes,
    ),
    (
        "ProcessHandle",
        "java.lang.ProcessHandle",
        Reason::Processes,
    ),
    ("ClassLoader", "java.lang.ClassLoader", Reason::Reflection),
    ("Unsafe", "sun.misc.Unsafe", Reason::Internals),
];

/// The `java.io` file classes, blocked by simple name when `java.io.*` is
/// imported (the wildcard import itself is fine: it is how most programs
/// get `BufferedReader`).
pub const JAVA_IO_FILE_CLASSES: &[&str] = &[
    "File",
    "FileReader",
    "FileWriter",
    "FileInputStream",
    "FileOutputStream",
    "FileDescriptor",
    "RandomAccessFile",
];

/// Static members blocked as `Class.member`, `Class::member`, in static
/// imports, and as bare names after a static wildcard import of the class.
/// (class simple name, class qualified name, members, reason)
pub const MEMBERS: &[(&str, &str, &[&str], Reason)] = &[
    (
        "System",
        "java.lang.System",
        &["getenv", "setProperty", "clearProperty", "setProperties"],
        Reason::Environment,
    ),
    (
        "System",
        "java.lang.System",
        &["load", "loadLibrary"],
        Reason::NativeCode,
    ),
    (
        "System",
        "java.lang.System",
        &["setSecurityManager"],
        Reason::Internals,
    ),
    (
        "System",
        "java.lang.System",
        &["inheritedChannel"],
        Reason::Network,
    ),
    ("Class", "java.lang.Class", &["forName"], Reason::Reflection),
];

/// Reflection methods blocked wherever they are called (after `.` or `::`),
/// whatever the receiver, with the class that declares them. A user method
/// with one of these names is reported too (rename it): telling the two
/// apart needs types, which a token-level check does not have.
pub const REFLECTION_METHODS: &[(&str, &str)] = &[
    ("getDeclaredMethod", "java.lang.Class"),
    ("getDeclaredMethods", "java.lang.Class"),
    ("getDeclaredField", "java.lang.Class"),
    ("getDeclaredFields", "java.lang.Class"),
    ("getDeclaredConstructor", "java.lang.Class"),
    ("getDeclaredConstructors", "java.lang.Class"),
    ("getDeclaredClasses", "java.lang.Class"),
    ("getMethod", "java.lang.Class"),
    ("getMethods", "java.lang.Class"),
    ("getField", "java.lang.Class"),
    ("getFields", "java.lang.Class"),
    ("getConstructor", "java.lang.Class"),
    ("getConstructors", "java.lang.Class"),
    ("getClassLoader", "java.lang.Class"),
    ("getContextClassLoader", "java.lang.Thread"),
    ("setContextClassLoader", "java.lang.Thread"),
    ("setAccessible", "java.lang.reflect.AccessibleObject"),
    ("trySetAccessible", "java.lang.reflect.AccessibleObject"),
];

/// First segments of every blocked qualified name: most names in code start
/// with something else and are dismissed at once.
pub const ROOTS: &[&str] = &["java", "javax", "sun", "com", "jdk"];

/// What a qualified name (`java.net.Socket`, `java.lang.System.getenv`)
/// runs into, if anything: the blocked package, class or member it names or
/// lies inside, and why.
pub fn blocked_name(segments: &[&str]) -> Option<(String, Reason)> {
    if !segments.first().is_some_and(|first| ROOTS.contains(first)) {
        return None;
    }
    PACKAGES
        .iter()
        .chain(CLASSES)
        .find(|(prefix, _)| starts_with_segments(segments, prefix))
        .map(|(prefix, reason)| (prefix.to_string(), *reason))
        .or_else(|| {
            MEMBERS.iter().find_map(|(_, class, members, reason)| {
                let (member, owner) = segments.split_last()?;
                let hit = members.contains(member) && starts_with_segments(owner, class);
                let exact = owner.len() == class.split('.').count();
                (hit && exact).then(|| (segments.join("."), *reason))
            })
        })
}

/// Whether `segments` begin with the dotted name `prefix` (whole segments:
/// `java.networking` is not in `java.net`).
fn starts_with_segments(segments: &[&str], prefix: &str) -> bool {
    prefix
        .split('.')
        .enumerate()
        .all(|(n, part)| segments.get(n) == Some(&part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(name: &str) -> Option<String> {
        let segments: Vec<&str> = name.split('.').collect();
        blocked_name(&segments).map(|(what, _)| what)
    }

    #[test]
    fn packages_classes_and_members() {
        assert_eq!(blocked("java.net.Socket").as_deref(), Some("java.net"));
        assert_eq!(blocked("java.net").as_deref(), Some("java.net"));
        assert_eq!(blocked("sun.misc.Unsafe").as_deref(), Some("sun"));
        assert_eq!(blocked("java.io.File").as_deref(), Some("java.io.File"));
        assert_eq!(
            blocked("java.lang.Runtime.getRuntime").as_deref(),
            Some("java.lang.Runtime")
        );
        assert_eq!(
            blocked("java.lang.System.getenv").as_deref(),
            Some("java.lang.System.getenv")
        );
        assert_eq!(blocked("java.lang.System.out"), None);
        assert_eq!(blocked("java.io.FileNotFoundException"), None);
        assert_eq!(blocked("java.io.BufferedReader"), None);
        assert_eq!(blocked("java.nio.charset.StandardCharsets"), None);
        assert_eq!(blocked("java.networking"), None);
        assert_eq!(blocked("sunny.Day"), None);
        assert_eq!(blocked("java.util.List"), None);
    }
}
