//! The real kubectl against the server, each run with its own HOME.
