//! The contract version check, done on the component's type before any
//! instantiation: a plugin built for another contract is refused with both
//! versions named, instead of failing later with a confusing link error.

use semver::Version;
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::PluginError;

/// The latest contract version this host implements (the WIT package
/// version of `wit/since_v0.2.0/`).
pub const CONTRACT_VERSION: &str = "0.2.0";

/// The oldest contract version it still loads (`wit/since_v0.1.0/`).
const OLDEST_VERSION: &str = "0.1.0";

/// The exported interface, without its version.
const PLUGIN_INTERFACE: &str = "codr:plugin/plugin";

/// What this host accepts, for messages: `0.1.x to 0.2.x`.
pub fn supported_range() -> String {
    let (oldest, latest) = (version(OLDEST_VERSION), version(CONTRACT_VERSION));
    format!(
        "{}.{}.x to {}.{}.x",
        oldest.major, oldest.minor, latest.major, latest.minor
    )
}

fn version(text: &str) -> Version {
    Version::parse(text).expect("contract versions are valid versions")
}

/// A contract with a bindings module in `since/`: any 0.x version from the
/// oldest to the latest minor (a patch only adds documentation).
fn is_compatible(plugin: &Version) -> bool {
    let (oldest, latest) = (version(OLDEST_VERSION), version(CONTRACT_VERSION));
    plugin.major == 0 && (oldest.minor..=latest.minor).contains(&plugin.minor)
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
        assert!(is_compatible(&Version::new(0, 2, 0)));
        assert!(!is_compatible(&Version::new(0, 3, 0)));
        assert!(!is_compatible(&Version::new(1, 1, 0)));
        assert_eq!(supported_range(), "0.1.x to 0.2.x");
    }
}
