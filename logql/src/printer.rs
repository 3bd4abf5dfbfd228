//! The canonical LogQL printer (`Display` for the AST). To be written.
