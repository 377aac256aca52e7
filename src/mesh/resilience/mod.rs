//! Retries, timeouts, connection pools and outlier detection as `resilience` writes them: the
//! settings and presets ([`settings`]), which objects are for a Service ([`select`]), edits that
//! change only the fields the command manages and remember what they replaced ([`routes`],
//! [`destination`], [`record`]), the objects created when a Service has none ([`build`]), and
//! the route settings carried to a gateway route another command adds ([`carry`]).
//!
//! Everything here is pure: objects go in as the API server returned them and come out as they
//! should be written.

pub mod build;
pub mod carry;
pub mod destination;
pub mod record;
pub mod routes;
pub mod select;
pub mod settings;

pub use select::Target;
pub use settings::{OutlierSettings, PoolSettings, Preset, RouteSettings, Settings};
