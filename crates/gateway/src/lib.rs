//! The ACS Teams token gateway: settings, start-up, routes and the mapping of every error to RFC 9457
//! problem details. `main.rs` only parses the command line and calls [`cli::run`].

pub mod category;
pub mod cli;
pub mod exchange;
pub mod observability;
pub mod openapi;
pub mod problem;
mod request_context;
mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenant;

pub use startup::Application;

/// The admin API's body decoding, for the fuzz targets only.
#[doc(hidden)]
pub use routes::admin::decode as admin_decode;
