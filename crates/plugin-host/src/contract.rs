//! The contract version check, done on the component's type before any
//! instantiation: a plugin built for another contract is refused with both
//! versions named, instead of failing later with a confusing link error.

use semver::Version;
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::PluginError;

/// The contract version this host implements (the WIT package version).
pub const CONTRACT_VERSION: &str = "0.1.0";

/// The exported interface, without its version.
const PLUGIN_INTERFACE: &str = "codr:plugin/plugin";

/// What this host accepts, for messages: `0.1.x` (same minor for 0.x), or
/// `1.x` (same major).
pub fn supported_range() -> String {
    let host = host_version();
    if host.major == 0 {
        format!("0.{}.x", host.minor)
    } else {
        format!("{}.x", host.major)
    }
}

fn host_version() -> Version {
    Version::parse(CONTRACT_VERSION).expect("CONTRACT_VERSION is a valid version")
}

/// Same major, and for 0.x the same minor (semver's rule for caret ranges).
fn is_compatible(plugin: &Version) -> bool {
    let host = host_version();
    plugin.major == host.major && (host.major != 0 || plugin.minor == host.minor)
}

/// Returns the contract version `component` exports, or why it cannot be used.
pub(crate) fn check(
    component: &Component,
    engine: &Engine,
    file_name: &str,
) -> Result<Version, PluginError> {
    let ty = component.component_type();
    let exported = ty.exports(engine).find_map(|(name, _)| {
        let rest = name.strip_prefix(PLUGIN_INTERFACE)?;
        (rest.is_empty() || rest.starts_with('@')).then(|| rest.to_string())
    });
    let Some(suffix) = exported else {
        return Err(PluginError::NotAPlugin {
            plugin: file_name.to_string(),
        });
    };
    let found = suffix.strip_prefix('@').unwrap_or("(unversioned)");
    let incompatible = || PluginError::Incompatible {
        plugin: file_name.to_string(),
        found: found.to_string(),
        supported: supported_range(),
    };
    let version = Version::parse(found).map_err(|_| incompatible())?;
    if is_compatible(&version) {
        Ok(version)
    } else {
        Err(incompatible())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_minor_is_compatible_for_0x() {
        assert!(is_compatible(&Version::new(0, 1, 0)));
        assert!(is_compatible(&Version::new(0, 1, 7)));
        assert!(!is_compatible(&Version::new(0, 2, 0)));
        assert!(!is_compatible(&Version::new(1, 1, 0)));
        assert_eq!(supported_range(), "0.1.x");
    }
}
