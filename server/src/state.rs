//! What every request handler shares: the database, settings, secrets and the services built from
//! them. It sits above the services: a service takes the one or two of these it uses (a
//! connection, the cipher, [`AppState::tokens`], [`AppState::rule_engine`]), never the whole.

use crate::auth::session::TokenIssuer;
use crate::auth::PasswordHasher;
use crate::citizens::{Codes, SmsSender};
use crate::config::{Secrets, Settings};
use crate::database::Database;
use crate::db::{AnyConnection, Backend};
use crate::domain::geo::{GridIndex, GridKey, GridLookup};
use crate::error::ApiResult;
use crate::registry::Registrar;
use crate::rules::Engine;
use crate::self_reports::Intake;
use crate::sync::Sources;
use crate::telemetry::Metrics;
use crate::visits::Desk;

pub struct AppState {
    /// The pool and, on SQLite, the group commit.
    pub database: Database,
    pub backend: Backend,
    pub settings: Settings,
    pub secrets: Secrets,
    /// Seals ID and phone numbers and computes their blind index.
    pub cipher: crate::crypto::FieldCipher,
    /// Signs and checks sync cursors.
    pub cursors: crate::changes::CursorSigner,
    /// Parsed definitions of published (immutable) form versions.
    pub definitions: crate::forms::DefinitionCache,
    pub hasher: PasswordHasher,
    pub grids: GridIndex,
    /// Compiled form versions (immutable once published).
    pub forms: crate::forms::FormCache,
    /// Photo processing and storage.
    pub photos: crate::photos::PhotoService,
    /// Compiled rule versions (immutable once stored).
    pub rules: crate::rules::RuleBook,
    /// Working days, for the application deadlines.
    pub calendar: crate::calendar::Calendar,
    /// How citizens' verification codes are sent.
    pub sms: SmsSender,
    /// The audit chain's key and its checkpoint file.
    pub audit: crate::audit::Auditor,
    pub metrics: Metrics,
}

impl AppState {
    /// Runs blocking database work on the blocking pool, inside the caller's tracing span.
    pub async fn db<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.database.run(work).await
    }

    /// Like [`AppState::db`], inside one transaction: all of it is written, or none.
    pub async fn tx<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.database.tx(work).await
    }

    /// Like [`AppState::tx`], but on SQLite the transaction may share its commit (and its fsync)
    /// with other writes queued at the same moment. For short, independent writes.
    pub async fn tx_grouped<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.database.tx_grouped(work).await
    }

    /// The token issuer: the pepper and the lifetimes of a pair.
    pub fn tokens(&self) -> TokenIssuer<'_> {
        TokenIssuer {
            pepper: &self.secrets.token_pepper,
            access_ttl_secs: self.settings.access_token_ttl_secs,
            refresh_ttl_secs: self.settings.refresh_token_ttl_secs,
        }
    }

    /// What writing households needs, with the grid lookup of the moment.
    pub fn registrar<'a>(&'a self, grids: &'a GridLookup<GridKey>) -> Registrar<'a> {
        Registrar {
            cipher: &self.cipher,
            grids,
            rules: self.rule_engine(),
        }
    }

    /// What sending and checking citizens' verification codes needs.
    pub fn citizen_codes(&self) -> Codes<'_> {
        Codes {
            cipher: &self.cipher,
            ttl_secs: self.settings.discovery.sms_code_ttl_secs,
            sms: &self.sms,
        }
    }

    /// What a sync page is made with.
    pub fn sync_sources(&self) -> Sources<'_> {
        Sources {
            cursors: &self.cursors,
            definitions: &self.definitions,
        }
    }

    /// What routing a citizen's self-report needs, with the grid lookup of the moment.
    pub fn self_report_intake<'a>(&'a self, grids: &'a GridLookup<GridKey>) -> Intake<'a> {
        Intake {
            cipher: &self.cipher,
            grids,
            verify_form: &self.settings.recheck.form_key,
            rules: self.rule_engine(),
        }
    }

    /// What receiving a phone's visit needs, with the grid lookup of the moment.
    pub fn visit_desk(&self) -> Desk<'_> {
        Desk {
            database: &self.database,
            forms: &self.forms,
            cipher: &self.cipher,
            grids: self.grids.get(),
            checks: &self.settings.visit_checks,
            photo_checks: &self.settings.photos,
        }
    }

    /// The rule book with the cipher that opens the visits the rules read.
    pub fn rule_engine(&self) -> Engine<'_> {
        Engine {
            book: &self.rules,
            cipher: &self.cipher,
        }
    }
}
