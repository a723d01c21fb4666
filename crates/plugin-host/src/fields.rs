//! One record turned into another with the same field names: the generated
//! bindings of each contract version and the host's own types repeat the
//! same records, and a conversion should name each field once, not twice.

/// `move_fields!(value => Type { a, b; c: expr })`: a `Type` whose fields
/// `a`, `b` are moved from `value`'s fields of the same names and whose
/// fields after `;` are given.
macro_rules! move_fields {
    ($from:expr => $to:path { $($field:ident),* $(,)? $(; $($extra:ident : $value:expr),* $(,)?)? }) => {{
        let from = $from;
        $to { $($field: from.$field,)* $($($extra: $value,)*)? }
    }};
}

/// `from_fields!(A => B { a, b; c: expr })`: `impl From<A> for B` by
/// [`move_fields!`].
macro_rules! from_fields {
    ($from:ty => $to:ty { $($body:tt)* }) => {
        impl From<$from> for $to {
            fn from(from: $from) -> Self {
                move_fields!(from => Self { $($body)* })
            }
        }
    };
}
