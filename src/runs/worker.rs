//! The worker process (placeholder while the orchestration lands).

use crate::startup::Services;

pub async fn run_worker_process(_services: Services) -> Result<(), String> {
    Err("not yet".into())
}

pub async fn run_worker(
    _services: Services,
    _stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    Err("not yet".into())
}
