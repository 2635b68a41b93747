//! Contract tests: the simulator driven over HTTP exactly as Graph clients and outside
//! checks drive it.

mod helpers;

mod admin;
mod assign;
mod batch;
mod contract;
mod crud;
mod expand;
mod faults;
mod fixtures;
mod generic_client;
mod paging;
mod throttle;
mod token;
