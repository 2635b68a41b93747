//! Run slots: how many runs of one queue this process executes at once.
//!
//! A queue starts with `worker.concurrency` slots. While every slot was busy during the last
//! interval and the host's CPU has room (below [`GROW_BELOW`]), it gains a quarter more, up to
//! `worker.max_concurrency`; while the CPU is saturated (above [`SHRINK_ABOVE`]) it gives an
//! eighth back, never below `worker.concurrency`. Runs mostly wait on Graph and the database,
//! so a fixed slot count either leaves the CPU idle or overloads it; this keeps enough runs in
//! flight to use it. Per-tenant fairness is not this module's: the claim still refuses a run
//! beyond `runs.tenant_concurrency` for its tenant, however many slots there are.
//!
//! [`SlotLayer`] is the gate in front of the apalis handler: the consumer asks it for
//! readiness before it takes the next job from Redis, so a worker at its limit leaves jobs in
//! the queue for the rest of the fleet instead of holding them. The run executes on a task of
//! its own that owns its slot: if the consumer dies under it (Redis went away), the run
//! carries on and its slot stays taken until it ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use apalis::prelude::{BoxDynError, Layer, Service};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, watch};

/// Below this share of busy CPU a queue whose slots are all taken gets more.
pub const GROW_BELOW: f64 = 0.85;
/// Above this share of busy CPU every queue above its floor gives slots back.
pub const SHRINK_ABOVE: f64 = 0.95;

/// One queue's slots: a semaphore whose size moves between `min` and `max`.
pub struct Slots {
    semaphore: Arc<Semaphore>,
    limit: AtomicUsize,
    /// The most slots taken at once since the controller last looked.
    peak: AtomicUsize,
    min: usize,
    max: usize,
}

impl Slots {
    pub fn new(min: usize, max: usize) -> Arc<Self> {
        let min = min.max(1);
        Arc::new(Self {
            semaphore: Arc::new(Semaphore::new(min)),
            limit: AtomicUsize::new(min),
            peak: AtomicUsize::new(0),
            min,
            max: max.max(min),
        })
    }

    /// Slots now: runs this queue may execute at once.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Acquire)
    }

    /// Slots taken now.
    pub fn busy(&self) -> usize {
        self.limit()
            .saturating_sub(self.semaphore.available_permits())
    }

    /// Takes a slot, waiting for one.
    #[cfg(test)]
    async fn take(&self) -> Result<OwnedSemaphorePermit, AcquireError> {
        let permit = self.semaphore.clone().acquire_owned().await?;
        self.note_taken();
        Ok(permit)
    }

    fn note_taken(&self) {
        self.peak.fetch_max(self.busy(), Ordering::AcqRel);
    }

    /// Moves the limit to `target` (within `min..=max`); returns the new limit.
    pub fn resize(&self, target: usize) -> usize {
        let target = target.clamp(self.min, self.max);
        let current = self.limit.swap(target, Ordering::AcqRel);
        if target > current {
            self.semaphore.add_permits(target - current);
        } else if target < current {
            // Slots in use are given back as their runs end: the permits are taken, then
            // forgotten.
            let surplus = (current - target) as u32;
            match self.semaphore.clone().try_acquire_many_owned(surplus) {
                Ok(permits) => permits.forget(),
                Err(_) => {
                    let semaphore = self.semaphore.clone();
                    tokio::spawn(async move {
                        if let Ok(permits) = semaphore.acquire_many_owned(surplus).await {
                            permits.forget();
                        }
                    });
                }
            }
        }
        target
    }

    /// Waits until no run holds a slot (shutdown).
    pub async fn drain(&self) {
        let limit = self.limit() as u32;
        if let Ok(all) = self.semaphore.acquire_many(limit).await {
            all.forget();
        }
    }

    /// What the controller saw since its last look: the peak of busy slots, reset.
    fn take_peak(&self) -> usize {
        self.peak.swap(self.busy(), Ordering::AcqRel)
    }
}

/// The next limit for a queue with `limit` slots, of which at most `peak` were taken at once
/// in the last interval, when `cpu` of the host's CPU was busy.
pub fn next_limit(limit: usize, peak: usize, cpu: f64, min: usize, max: usize) -> usize {
    let next = if cpu > SHRINK_ABOVE {
        limit.saturating_sub((limit / 8).max(1))
    } else if cpu < GROW_BELOW && peak >= limit {
        limit + (limit / 4).max(1)
    } else {
        limit
    };
    next.clamp(min.max(1), max.max(min.max(1)))
}

/// Resizes every queue's slots each `every` from the host's CPU use, until `stop`. Does
/// nothing where the CPU cannot be read (no `/proc/stat`): the slots then stay at their floor.
pub async fn adapt(
    slots: Vec<(&'static str, Arc<Slots>)>,
    every: Duration,
    stop: watch::Receiver<bool>,
) {
    let mut cpu = CpuMeter::default();
    if cpu.sample().is_none() {
        tracing::info!("no /proc/stat: worker slots stay at worker.concurrency");
        return;
    }
    adapt_to(slots, every, stop, move || cpu.sample()).await;
}

/// [`adapt`] with the CPU's busy share since the previous reading from `cpu`.
async fn adapt_to(
    slots: Vec<(&'static str, Arc<Slots>)>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    mut cpu: impl FnMut() -> Option<f64>,
) {
    if slots.iter().all(|(_, s)| s.min == s.max) {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let Some(busy) = cpu() else { continue };
        for (queue, slots) in &slots {
            let limit = slots.limit();
            let next = next_limit(limit, slots.take_peak(), busy, slots.min, slots.max);
            if next != limit {
                let now = slots.resize(next);
                tracing::debug!(
                    queue,
                    from = limit,
                    to = now,
                    cpu = busy,
                    "worker slots resized"
                );
            }
        }
    }
}

/// The host's busy CPU share between two readings of `/proc/stat`.
#[derive(Default)]
struct CpuMeter {
    last: Option<(u64, u64)>,
}

impl CpuMeter {
    /// The busy share since the previous call (0 on the first), `None` if unreadable.
    fn sample(&mut self) -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let (busy, total) = parse_cpu_line(stat.lines().next()?)?;
        let share = match self.last {
            Some((b, t)) if total > t => (busy.saturating_sub(b)) as f64 / (total - t) as f64,
            _ => 0.0,
        };
        self.last = Some((busy, total));
        Some(share)
    }
}

/// `(busy, total)` jiffies of the aggregate `cpu` line: idle and iowait are not busy.
fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if values.len() < 5 {
        return None;
    }
    let total: u64 = values.iter().sum();
    let idle = values[3] + values[4];
    Some((total - idle, total))
}

/// The tower layer that puts a queue's [`Slots`] in front of its handler.
#[derive(Clone)]
pub struct SlotLayer(pub Arc<Slots>);

impl<S> Layer<S> for SlotLayer {
    type Service = SlotService<S>;

    fn layer(&self, inner: S) -> SlotService<S> {
        SlotService {
            inner,
            slots: self.0.clone(),
            permit: None,
            waiting: None,
        }
    }
}

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// Ready once it holds a slot; each call runs on a task of its own that owns that slot.
pub struct SlotService<S> {
    inner: S,
    slots: Arc<Slots>,
    permit: Option<OwnedSemaphorePermit>,
    waiting: Option<Acquire>,
}

impl<S: Clone> Clone for SlotService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            slots: self.slots.clone(),
            permit: None,
            waiting: None,
        }
    }
}

impl<S, Request> Service<Request> for SlotService<S>
where
    S: Service<Request>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Into<BoxDynError> + Send + 'static,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxDynError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxDynError>> {
        if self.permit.is_none() {
            let slots = &self.slots;
            let waiting = self.waiting.get_or_insert_with(|| {
                let semaphore = slots.semaphore.clone();
                Box::pin(semaphore.acquire_owned())
            });
            let permit = ready!(waiting.as_mut().poll(cx));
            self.waiting = None;
            self.permit = Some(permit?);
            self.slots.note_taken();
        }
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let slot = self.permit.take();
        let run = self.inner.call(request);
        let task = tokio::spawn(async move {
            let _slot = slot;
            run.await
        });
        Box::pin(async move {
            match task.await {
                Ok(result) => result.map_err(Into::into),
                Err(e) => Err(Box::new(e) as BoxDynError),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_whose_slots_are_all_busy_grows_while_the_cpu_has_room() {
        assert_eq!(next_limit(8, 8, 0.40, 4, 64), 10);
        assert_eq!(next_limit(4, 4, 0.40, 4, 64), 5);
        assert_eq!(next_limit(60, 60, 0.40, 4, 64), 64);
        // Not all busy: no reason to grow.
        assert_eq!(next_limit(8, 5, 0.40, 4, 64), 8);
        // All busy but the CPU is nearly full: hold.
        assert_eq!(next_limit(8, 8, 0.90, 4, 64), 8);
    }

    #[test]
    fn a_saturated_cpu_gives_slots_back_down_to_the_floor() {
        assert_eq!(next_limit(32, 32, 0.99, 4, 64), 28);
        assert_eq!(next_limit(5, 5, 0.99, 4, 64), 4);
        assert_eq!(next_limit(4, 4, 0.99, 4, 64), 4);
    }

    #[test]
    fn a_fixed_range_never_moves() {
        assert_eq!(next_limit(8, 8, 0.10, 8, 8), 8);
        assert_eq!(next_limit(8, 8, 0.99, 8, 8), 8);
    }

    #[test]
    fn the_cpu_line_gives_busy_and_total_jiffies() {
        let line = "cpu  100 5 50 800 20 3 2 0 0 0";
        assert_eq!(parse_cpu_line(line), Some((160, 980)));
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4 5"), None);
        assert_eq!(parse_cpu_line("cpu x"), None);
    }

    #[tokio::test]
    async fn resizing_adds_slots_at_once_and_takes_them_back_as_runs_end() {
        let slots = Slots::new(2, 6);
        let a = slots.take().await.unwrap();
        let b = slots.take().await.unwrap();
        assert_eq!(slots.busy(), 2);
        assert_eq!(slots.resize(4), 4);
        let c = slots.take().await.unwrap();
        let d = slots.take().await.unwrap();
        assert_eq!(slots.busy(), 4);
        // Down to the floor while all four are in use: new runs wait until two end.
        assert_eq!(slots.resize(1), 2);
        drop((a, b));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(slots.semaphore.clone().try_acquire_owned().is_err());
        drop((c, d));
        let e = tokio::time::timeout(Duration::from_secs(1), slots.take()).await;
        assert!(e.is_ok(), "a slot comes back once the runs end");
        assert_eq!(slots.limit(), 2);
        assert!(slots.resize(100) == 6);
    }

    /// Holds every slot there is, as a queue full of long runs does.
    async fn hold_all(slots: &Arc<Slots>, held: &mut Vec<OwnedSemaphorePermit>) {
        while let Ok(p) = slots.semaphore.clone().try_acquire_owned() {
            held.push(p);
            slots.note_taken();
        }
    }

    #[tokio::test]
    async fn the_controller_grows_busy_slots_while_the_cpu_is_idle_then_gives_them_back() {
        let slots = Slots::new(2, 16);
        let cpu = Arc::new(std::sync::Mutex::new(0.30));
        let (stop_tx, stop_rx) = watch::channel(false);
        let reading = cpu.clone();
        let controller = tokio::spawn(adapt_to(
            vec![("capture", slots.clone())],
            Duration::from_millis(10),
            stop_rx,
            move || Some(*reading.lock().unwrap()),
        ));
        let mut held = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while slots.limit() < 16 && tokio::time::Instant::now() < deadline {
            hold_all(&slots, &mut held).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            slots.limit(),
            16,
            "every slot busy at 30 % CPU grows to the ceiling"
        );
        // Idle slots do not grow: nothing is waiting for them.
        drop(held);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(slots.limit(), 16);
        *cpu.lock().unwrap() = 0.99;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while slots.limit() > 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(slots.limit(), 2, "a saturated CPU shrinks to the floor");
        assert_eq!(slots.semaphore.available_permits(), 2);
        stop_tx.send(true).unwrap();
        controller.await.unwrap();
    }

    /// A handler that finishes when told to.
    #[derive(Clone)]
    struct Gate(Arc<tokio::sync::Notify>);

    impl Service<()> for Gate {
        type Response = ();
        type Error = BoxDynError;
        type Future = Pin<Box<dyn Future<Output = Result<(), BoxDynError>> + Send>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxDynError>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: ()) -> Self::Future {
            let gate = self.0.clone();
            Box::pin(async move {
                gate.notified().await;
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn the_layer_is_not_ready_without_a_slot_and_a_run_keeps_its_slot_when_dropped() {
        use std::task::Waker;
        let slots = Slots::new(1, 1);
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut service = SlotLayer(slots.clone()).layer(Gate(gate.clone()));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
        let run = service.call(());
        assert_eq!(slots.busy(), 1);
        // The only slot is taken: the consumer is told to wait, so it takes no job.
        assert!(service.poll_ready(&mut cx).is_pending());
        // The consumer goes away; the run carries on with its slot.
        drop(run);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(slots.busy(), 1);
        assert!(service.poll_ready(&mut cx).is_pending());
        gate.notify_one();
        let ready = tokio::time::timeout(
            Duration::from_secs(1),
            std::future::poll_fn(|cx| service.poll_ready(cx)),
        )
        .await;
        assert!(
            matches!(ready, Ok(Ok(()))),
            "the slot is free once the run ends"
        );
    }
}
