//! Black-box tests of PolicyVault against real Redis, PostgreSQL and graph-sim (SQLite only
//! where a test is about the embedded database). Run through `scripts/test.sh`, which starts
//! the services and sets `PV_TEST_REDIS_URL` and `PV_TEST_DATABASE_URL`; without them the
//! tests that need the services fail rather than pass untested.

mod auth;
mod browser;
mod browser_smoke;
mod cli;
mod event_stream;
mod fleet;
mod graph_client;
mod helpers;
mod metrics;
mod openapi;
mod operations;
mod orchestration;
mod pages;
mod proxy;
mod restore_trust;
mod secrets;
mod store;
mod webdriver;
