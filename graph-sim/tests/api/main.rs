//! Contract tests: the simulator driven over HTTP exactly as Graph clients and outside
//! checks drive it.

mod certs;
mod helpers;

mod admin;
mod assign;
mod batch;
mod client_assertion;
mod contract;
mod crud;
mod expand;
mod faults;
mod fixtures;
mod generic_client;
mod paging;
mod shared_apps;
mod throttle;
mod token;
