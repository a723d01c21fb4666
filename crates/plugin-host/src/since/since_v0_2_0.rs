//! Contract 0.2 (`wit/since_v0.2.0/`), the latest: plugins may ship a
//! grammar, identities have a `runtime`, plan requests list the other files.

wasmtime::component::bindgen!({
    world: "language",
    path: "../../wit/since_v0.2.0",
    // A grammar that fails ends the plugin call (see `syntax_host!`).
    imports: { "codr:plugin/syntax": trappable },
});
