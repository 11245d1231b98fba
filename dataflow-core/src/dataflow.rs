//! The `DataFlow` handle: one type for every backend.

use std::sync::{Arc, RwLock};

use crate::backend::capabilities::Capabilities;
use crate::backend::dialect::Dialect;
use crate::backend::{Backend, Connection};
use crate::error::{Error, Result};
use crate::migrate::schema::Schema;
use crate::model::descriptor::ModelDescriptor;
use crate::model::Model;
use crate::terminal::{default_interaction, Interaction};

/// A database with registered models. Cheap to clone (an `Arc`), `Send + Sync`,
/// with pooled connections inside: share one handle across threads.
#[derive(Clone)]
pub struct DataFlow {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Box<dyn Backend>,
    dialect: &'static dyn Dialect,
    capabilities: Capabilities,
    models: RwLock<Vec<&'static ModelDescriptor>>,
    /// How the database prints each model condition, by (table, condition):
    /// asked once per process, not on every plan.
    predicate_prints: std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
    /// Who migrations ask and show progress to.
    interaction: RwLock<Arc<dyn Interaction>>,
}

impl std::fmt::Debug for DataFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFlow")
            .field("dialect", &self.inner.dialect.name())
            .field(
                "models",
                &self.models().iter().map(|m| m.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl DataFlow {
    /// Wraps a backend. Backend crates call this from `open` / `connect`.
    pub fn new(backend: impl Backend) -> Self {
        let dialect = backend.dialect();
        let capabilities = backend.capabilities();
        DataFlow {
            inner: Arc::new(Inner {
                backend: Box::new(backend),
                dialect,
                capabilities,
                models: RwLock::new(Vec::new()),
                predicate_prints: Default::default(),
                interaction: RwLock::new(default_interaction()),
            }),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &dyn Backend {
        &*self.inner.backend
    }

    /// The backend's SQL dialect.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.inner.dialect
    }

    /// Sets who migrations ask for consent and show backfill progress to (by
    /// default the terminal, see [`crate::terminal`]); a server application
    /// may pass [`crate::terminal::Headless`], a CLI its own implementation.
    /// [`MigrateOptions::interaction`](crate::MigrateOptions::interaction)
    /// overrides it for one call.
    pub fn set_interaction(&self, interaction: impl Interaction + 'static) {
        *self
            .inner
            .interaction
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(interaction);
    }

    /// Who migrations ask and show progress to: see [`DataFlow::set_interaction`].
    pub fn interaction(&self) -> Arc<dyn Interaction> {
        Arc::clone(
            &self
                .inner
                .interaction
                .read()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// What the backend's database supports.
    pub fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    /// Registers a model so `auto_migrate` manages its table. Registering the same
    /// model again does nothing; two models claiming one table is an error.
    pub fn register<M: Model>(&self) -> Result<()> {
        self.register_all(&[M::DESCRIPTOR])
    }

    /// Registers several models at once: `db.register_all(models![User, Post])`.
    pub fn register_all(&self, models: &[&'static ModelDescriptor]) -> Result<()> {
        let mut registered = self
            .inner
            .models
            .write()
            .map_err(|_| Error::Database("model registry poisoned".into()))?;
        for &m in models {
            if let Some(other) = registered.iter().find(|r| r.table == m.table) {
                if std::ptr::eq(*other, m) {
                    continue;
                }
                return Err(Error::InvalidInput(format!(
                    "models {} and {} both map to table {}",
                    other.name, m.name, m.table
                )));
            }
            registered.push(m);
        }
        Ok(())
    }

    /// The registered models, in registration order.
    pub fn models(&self) -> Vec<&'static ModelDescriptor> {
        self.inner
            .models
            .read()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// The schema the registered models declare, normalised for this dialect.
    pub fn target_schema(&self) -> Schema {
        let mut s = Schema::from_descriptors(self.models());
        let d = self.dialect();
        if !self.capabilities().non_btree_indexes {
            for t in s.tables.values_mut() {
                t.indexes.retain(|i| i.kind.is_btree());
            }
        }
        d.normalize(&mut s);
        s
    }

    /// The live schema, normalised for this dialect.
    pub fn describe(&self) -> Result<Schema> {
        self.with_conn(|c| self.describe_with(c))
    }

    /// Replaces each live partial-index condition by the model's spelling when
    /// they are the same condition: equal as text, or the live text equal to
    /// the database's own printing of the model's condition (asked once per
    /// process). Exact equality only: a canonical form that dropped
    /// parentheses would also equate `(a OR b) AND c` with `a OR (b AND c)`.
    pub(crate) fn align_predicates(
        &self,
        conn: &mut dyn Connection,
        live: &mut Schema,
        target: &Schema,
    ) -> Result<()> {
        for (name, table) in &mut live.tables {
            let Some(t) = target.tables.get(name) else {
                continue;
            };
            let mut differing = Vec::new();
            for (i, index) in table.indexes.iter().enumerate() {
                let want = t
                    .indexes
                    .iter()
                    .find(|x| x.name == index.name)
                    .and_then(|x| x.predicate.as_ref());
                if let (Some(have), Some(want)) = (&index.predicate, want) {
                    if have != want {
                        differing.push((i, want.clone()));
                    }
                }
            }
            if differing.is_empty() {
                continue;
            }
            let prints = &self.inner.predicate_prints;
            let missing: Vec<String> = {
                let known = prints.lock().map_err(|_| poisoned())?;
                differing
                    .iter()
                    .filter(|(_, w)| !known.contains_key(&(name.clone(), w.clone())))
                    .map(|(_, w)| w.clone())
                    .collect()
            };
            if !missing.is_empty() {
                let printed = self.inner.backend.reprint_predicates(conn, t, &missing)?;
                let mut known = prints.lock().map_err(|_| poisoned())?;
                for (w, p) in missing.into_iter().zip(printed) {
                    known.insert((name.clone(), w), p);
                }
            }
            let known = prints.lock().map_err(|_| poisoned())?;
            for (i, want) in differing {
                let index = &mut table.indexes[i];
                if index.predicate.as_ref() == known.get(&(name.clone(), want.clone())) {
                    index.predicate = Some(want);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn describe_with(&self, conn: &mut dyn Connection) -> Result<Schema> {
        let mut s = self.inner.backend.describe(conn)?;
        self.dialect().normalize(&mut s);
        Ok(s)
    }

    /// Runs `f` with a pooled connection.
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut dyn Connection) -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        self.inner.backend.with_connection(&mut |c| {
            if let Some(f) = f.take() {
                out = Some(f(c)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| Error::Database("connection callback did not run".into()))
    }

    /// Runs `f` in a write transaction: committed on `Ok`, rolled back on `Err`.
    pub fn with_tx<R>(&self, f: impl FnOnce(&mut dyn Connection) -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        self.inner.backend.with_transaction(&mut |c| {
            if let Some(f) = f.take() {
                out = Some(f(c)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| Error::Database("transaction callback did not run".into()))
    }
}

fn poisoned() -> crate::error::Error {
    crate::error::Error::Database(
        "a thread panicked while holding dataflow's predicate cache".into(),
    )
}
