//! SECURITY-CRITICAL. Where argon2 runs: a few dedicated threads (one per core by default), so
//! that a flood of logins cannot turn the node's memory and CPU against it.
//!
//! Each argon2id hash at the default cost takes ~19 MiB and tens of milliseconds. Run on tokio's
//! blocking pool (up to 512 threads), 600 parallel logins would allocate gigabytes. Here at most
//! `workers` hashes run at once, always on the same `workers` threads; the rest wait up to `wait`
//! for a turn and are then refused ([`super::AuthError::Busy`], 503).
//!
//! Each thread also keeps its argon2 memory and reuses it for the next hash, instead of letting
//! the argon2 crate allocate and free 19 MiB per hash. Those allocations are 64-byte aligned, and
//! glibc serves aligned requests of that size from the arena with a little extra room, so a freed
//! block is usually just too small for the next request: measured on a station, the heap grew by
//! 19 MiB every few logins (218 MB after 45 logins on two threads). With the memory kept, a node
//! holds `workers` × 19 MiB for hashing, however many logins it serves.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, oneshot};

use super::AuthError;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The most argon2 memory a stored hash may ask for (256 MiB, in 1 KiB blocks): a larger cost
/// in the database is treated as corrupt rather than allocated.
const MAX_BLOCKS: usize = 256 * 1024;

/// One hashing thread's argon2 memory, grown to the largest hash it has run and kept.
#[derive(Default)]
pub(crate) struct Memory(Vec<Block>);

impl Memory {
    fn blocks(&mut self, count: usize) -> Result<&mut [Block], AuthError> {
        if count > MAX_BLOCKS {
            return Err(AuthError::Corrupt(format!(
                "a password hash asks for {count} KiB of memory"
            )));
        }
        if self.0.len() < count {
            // Replace rather than grow, so the old block is freed before the new one is made.
            self.0 = Vec::new();
            self.0.resize(count, Block::new());
        }
        Ok(&mut self.0[..count])
    }

    /// Clears what the last hash left, so that no password-derived state lingers.
    fn wipe(&mut self) {
        self.0.fill(Block::new());
    }
}

/// An argon2id PHC string for `password` at `params`, with a fresh random salt.
pub(crate) fn hash_phc(
    memory: &mut Memory,
    params: &Params,
    password: &[u8],
) -> Result<String, AuthError> {
    let failed = |e: &dyn std::fmt::Display| AuthError::Hashing(e.to_string());
    let salt_bytes = argon2::password_hash::try_generate_salt().map_err(|e| failed(&e))?;
    let salt = Salt::new(&salt_bytes).map_err(|e| failed(&e))?;
    let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..output_len)
        .ok_or_else(|| AuthError::Hashing(format!("output length {output_len}")))?;
    let hashed = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password,
        &salt,
        &mut *out,
        memory.blocks(params.block_count())?,
    );
    memory.wipe();
    hashed.map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, checked with the algorithm, version and
/// cost stored in it. The comparison is constant-time (`Output`'s equality).
pub(crate) fn verify_phc(
    memory: &mut Memory,
    password: &[u8],
    phc: &str,
) -> Result<bool, AuthError> {
    let corrupt = |e: &dyn std::fmt::Display| AuthError::Corrupt(format!("password hash: {e}"));
    let parsed = PasswordHash::new(phc).map_err(|e| corrupt(&e))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(corrupt(&"no salt or no hash"));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|e| corrupt(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| corrupt(&e))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| corrupt(&e))?;
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..expected.len())
        .ok_or_else(|| corrupt(&"output too long"))?;
    let hashed = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password,
        salt,
        &mut *out,
        memory.blocks(params.block_count())?,
    );
    memory.wipe();
    hashed.map_err(|e| AuthError::Hashing(e.to_string()))?;
    let computed = Output::new(out).map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(computed == *expected)
}

/// How long a login waits for a hashing thread before it is refused with 503.
pub const DEFAULT_HASH_WAIT: Duration = Duration::from_secs(5);

/// The hashing threads of one node. The threads start on first use and end when the pool (every
/// clone of its `AuthStore`) is dropped.
pub(crate) struct HashPool {
    workers: usize,
    wait: Duration,
    turns: Arc<Semaphore>,
    jobs: OnceLock<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.workers)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

/// One thread per core, at least one.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl HashPool {
    pub(crate) fn new(workers: usize, wait: Duration) -> HashPool {
        let workers = workers.max(1);
        HashPool {
            workers,
            wait,
            turns: Arc::new(Semaphore::new(workers)),
            jobs: OnceLock::new(),
        }
    }

    fn sender(&self) -> Result<&mpsc::Sender<Job>, AuthError> {
        if let Some(sender) = self.jobs.get() {
            return Ok(sender);
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..self.workers {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&rx))
                .map_err(|e| AuthError::Hashing(format!("cannot start a hashing thread: {e}")))?;
        }
        // Two first callers may race; the loser's threads end when its sender drops here.
        Ok(self.jobs.get_or_init(|| tx))
    }

    /// Runs `job` on a hashing thread once one is free; refuses with `Busy` when none frees up
    /// within the pool's wait.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let turn = match tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await {
            Ok(Ok(turn)) => turn,
            Ok(Err(_)) | Err(_) => return Err(AuthError::Busy),
        };
        let (done_tx, done_rx) = oneshot::channel();
        self.sender()?
            .send(Box::new(move |memory: &mut Memory| {
                let out = job(memory);
                // INVARIANT: the turn ends when the hash does, not when the caller stops waiting
                // (a client that hangs up does not free a slot while its hash still runs).
                drop(turn);
                let _ = done_tx.send(out);
            }))
            .map_err(|_| AuthError::Hashing("the hashing threads have stopped".into()))?;
        done_rx
            .await
            .map_err(|_| AuthError::Hashing("a password hash failed".into()))
    }
}

fn work(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        let job = {
            let rx = jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return, // the pool is gone
            }
        };
        // A panicking hash must not take the thread (and its turn) with it.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            tracing::error!("a password hash panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn at_most_workers_run_and_the_rest_are_refused_after_the_wait() {
        let pool = Arc::new(HashPool::new(1, Duration::from_millis(100)));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move |_| {
                    release_rx.recv().unwrap();
                    7
                })
                .await
            }
        });
        while pool.turns.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(pool.run(|_| 1).await, Err(AuthError::Busy)));
        release_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 7);
        assert_eq!(pool.run(|_| 2).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_panicking_job_leaves_the_pool_usable() {
        let pool = HashPool::new(1, Duration::from_secs(1));
        let failed = pool.run(|_| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(AuthError::Hashing(_))));
        assert_eq!(pool.run(|_| 3).await.unwrap(), 3);
    }

    #[test]
    fn hashes_verify_here_and_in_the_argon2_crate_alike() {
        use argon2::PasswordVerifier;
        let params = Params::new(1024, 1, 1, None).unwrap();
        let mut memory = Memory::default();
        let phc = hash_phc(&mut memory, &params, b"Bangban-2026").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        assert!(verify_phc(&mut memory, b"Bangban-2026", &phc).unwrap());
        assert!(!verify_phc(&mut memory, b"Bangban-2027", &phc).unwrap());
        // The crate's own verifier accepts our hashes, and we accept its hashes.
        let parsed = PasswordHash::new(&phc).unwrap();
        Argon2::default()
            .verify_password(b"Bangban-2026", &parsed)
            .unwrap();
        let theirs = argon2::PasswordHasher::hash_password(
            &Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            b"other-pass-1",
        )
        .unwrap()
        .to_string();
        assert!(verify_phc(&mut memory, b"other-pass-1", &theirs).unwrap());
        assert!(!verify_phc(&mut memory, b"other-pass-2", &theirs).unwrap());
        // A bigger cost after a smaller one reuses and grows the same memory.
        let big = Params::new(4096, 1, 1, None).unwrap();
        let phc = hash_phc(&mut memory, &big, b"Bangban-2026").unwrap();
        assert!(verify_phc(&mut memory, b"Bangban-2026", &phc).unwrap());
        assert_eq!(memory.0.len(), 4096);
        // Garbage and absurd costs are refused, not attempted.
        assert!(matches!(
            verify_phc(&mut memory, b"x", "not a hash"),
            Err(AuthError::Corrupt(_))
        ));
        let absurd = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$\
                      AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(matches!(
            verify_phc(&mut memory, b"x", absurd),
            Err(AuthError::Corrupt(_))
        ));
    }
}
