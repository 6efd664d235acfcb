//! Settings: defaults, then an optional TOML file, then `JIUZHU_*` environment variables, then
//! command-line flags, each overriding the one before. Secrets are held in `secrecy` types and
//! never printed.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on.
    pub bind: String,
    /// Where the SQLite file, generated secrets and photos live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH`, a bare path, or `postgres://…`; `DATA_DIR/jiuzhu.db` when absent.
    pub database_url: Option<String>,
    /// Refuse to start unless secrets are given explicitly.
    pub production: bool,
    /// Serve HTTPS with this certificate chain (PEM) and `tls_key`: browsers give service
    /// workers, the camera and GPS only to secure pages, so phones on an intranet need it.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// 32-byte data-encryption key, hex.
    pub data_key: Option<SecretString>,
    /// 32-byte pepper for token and blind-index hashes, hex.
    pub token_pepper: Option<SecretString>,
    /// 32-byte key of the audit chain's HMACs and of its signed checkpoints, hex. Kept outside
    /// the database, so whoever can write the database cannot rewrite the audit log unnoticed.
    pub audit_key: Option<SecretString>,
    /// The id stored beside every value sealed with `data_key`, so keys can rotate.
    pub data_key_id: String,
    /// Keys retired by a rotation, still needed to read old rows: `id:hex,id:hex`.
    pub retired_data_keys: Option<SecretString>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Failed log-ins that lock an account, and for how long.
    pub lockout_threshold: u32,
    pub lockout_secs: u64,
    /// Admins must log in with a second factor (a code from an authenticator app), and one
    /// without may do nothing but set it up. On by default with `--production`.
    pub admin_second_factor: Option<bool>,
    /// Log-in attempts allowed per minute from one IP address and for one username.
    pub login_limit_per_ip: u32,
    pub login_limit_per_account: u32,
    /// Password hashes computed at once; the rest wait, then get 503 with Retry-After.
    pub password_hash_concurrency: usize,
    pub password_queue_timeout_ms: u64,
    /// Largest JSON body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// Largest boundary import, in bytes, and most vertices in one boundary.
    pub boundary_import_limit_bytes: usize,
    pub max_boundary_vertices: usize,
    pub db_pool_size: u32,
    /// HTTP worker threads; the number of cores when absent.
    pub workers: Option<usize>,
    /// Emit logs as JSON lines.
    pub log_json: bool,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Thresholds of the checks run on every visit report.
    pub visit_checks: VisitChecks,
    /// Recurring re-check tasks (docs/domain.md: dibao yearly or half-yearly, tekun yearly).
    pub recheck: RecheckSettings,
    /// Photo uploads, processing and storage.
    pub photos: PhotoSettings,
    /// Working-day calendar and the citizens' SMS codes.
    pub discovery: DiscoverySettings,
    /// The audit log's checkpoints and retention.
    pub audit: AuditSettings,
}

/// The audit log: how often its head is signed into the checkpoint file, and how long it is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuditSettings {
    /// A checkpoint is written when the chain has grown by this many records...
    pub checkpoint_every_records: i64,
    /// ...or when it has grown at all and the last checkpoint is this old (and at start and
    /// shutdown). Rows appended after the last checkpoint are what a tail deletion could take
    /// unnoticed.
    pub checkpoint_every_secs: u64,
    /// Days audit records are kept; at least 180 (MLPS 2.0 level 3). Nothing prunes them today,
    /// so they are kept for good; the setting is the floor a future purge must respect.
    pub retention_days: u32,
}

/// The shortest retention the server accepts.
pub const MIN_AUDIT_RETENTION_DAYS: u32 = 180;

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_every_records: 1000,
            checkpoint_every_secs: 30,
            retention_days: MIN_AUDIT_RETENTION_DAYS,
        }
    }
}

/// Where deadlines and citizens' verification codes come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DiscoverySettings {
    /// A calendar of holidays and adjusted working days (format of `fixtures/calendar/cn.toml`);
    /// the built-in one when absent.
    pub calendar_file: Option<PathBuf>,
    /// How verification codes reach a citizen's phone: `log` (demo: the code is written to the
    /// log beside the masked number) or `file` (appended to `DATA_DIR/sms-outbox.jsonl`, for
    /// tests and gateways that pick messages up from a spool).
    pub sms_sender: String,
    /// Seconds a verification code stays valid.
    pub sms_code_ttl_secs: i64,
    /// The Alkire–Foster index: poor when the weighted deprivation score reaches `mpi_k`.
    pub mpi_k: f64,
    /// Its indicators: each an expression over the household facts (the rules' language);
    /// weights are normalised to sum to 1.
    pub mpi_indicators: Vec<MpiIndicator>,
    /// Milliseconds between looks at the background job queue; 0: this instance runs no jobs.
    pub job_poll_ms: u64,
}

/// One deprivation indicator of the MPI.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct MpiIndicator {
    pub name: String,
    pub weight: f64,
    /// True when the household is deprived in it.
    pub deprived: String,
}

fn indicator(name: &str, weight: f64, deprived: &str) -> MpiIndicator {
    MpiIndicator {
        name: name.into(),
        weight,
        deprived: deprived.into(),
    }
}

/// Three dimensions of equal weight (living standard, health, education), two indicators each.
pub fn default_mpi_indicators() -> Vec<MpiIndicator> {
    let w = 1.0 / 6.0;
    vec![
        indicator("income", w, "${pc} < ${s}"),
        indicator("housing", w, "${safety_grade} = 'c' or ${safety_grade} = 'd'"),
        indicator("grave_illness", w, "sum(${members.grave}) > 0"),
        indicator("severe_disability", w, "sum(${members.severe}) > 0"),
        indicator(
            "employment",
            w,
            "sum(${members.working_age}) > 0 and sum(${members.employed}) = 0",
        ),
        indicator(
            "schooling",
            w,
            "min(${members.age}) >= 6 and min(${members.age}) < 16 and sum(${members.in_school}) = 0",
        ),
    ]
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        Self {
            calendar_file: None,
            sms_sender: "log".into(),
            sms_code_ttl_secs: 600,
            mpi_k: 1.0 / 3.0,
            mpi_indicators: default_mpi_indicators(),
            job_poll_ms: 1000,
        }
    }
}

/// Photos: limits, resumable uploads, where the bytes go, and the photo checks of visits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PhotoSettings {
    /// Largest photo accepted, in bytes.
    pub max_bytes: u64,
    /// Seconds a partial resumable upload is kept.
    pub upload_expiry_secs: i64,
    /// Seconds without a byte before a body is given up (a body sent a byte at a time).
    pub idle_timeout_secs: u64,
    /// Seconds one request body may take in all.
    pub body_timeout_secs: u64,
    /// Photos decoded at once; the rest wait. The number of cores when absent.
    pub max_in_flight: Option<usize>,
    /// Where the bytes go; `DATA_DIR/photos` on the filesystem when absent.
    pub store: Option<jiuzhu_photos::store::StoreConfig>,
    /// A photo's EXIF position further than this from the visit's fix is flagged.
    pub max_exif_distance_m: f64,
    /// A photo's EXIF time further than this outside the visit's times is flagged.
    pub exif_time_slack_secs: i64,
    /// Perceptual-hash distance (of 64 bits) at or under which two photos count as near-identical.
    pub similar_max_distance: u32,
    /// Files a crash left behind (spooled bodies, partial uploads without a row, stored objects
    /// without a photo row) are removed at start-up and every ten minutes once this old.
    pub orphan_grace_secs: u64,
}

impl Default for PhotoSettings {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            upload_expiry_secs: 24 * 3600,
            idle_timeout_secs: 30,
            body_timeout_secs: 300,
            max_in_flight: None,
            store: None,
            max_exif_distance_m: 500.0,
            exif_time_slack_secs: 2 * 3600,
            similar_max_distance: 3,
            orphan_grace_secs: 3600,
        }
    }
}

/// When a visit gets a flag. Flags route a visit to review; they never reject it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct VisitChecks {
    /// Farther than this from the registered point (plus the fix's accuracy) is flagged.
    pub max_distance_m: f64,
    /// A fix less accurate than this is flagged.
    pub max_accuracy_m: f64,
    /// Less time on site than this is flagged.
    pub min_on_site_secs: i64,
    /// A fix taken further than this before the start or after the finish is flagged.
    pub fix_time_slack_secs: i64,
    /// One worker reporting one spot (within `same_spot_m`) for this many households in a day.
    pub same_spot_households: usize,
    pub same_spot_m: f64,
    /// Clock skew allowed for times "in the future".
    pub clock_skew_secs: i64,
    /// How old a visit may be when it finally arrives (phones can be offline for days).
    pub max_age_days: i64,
}

impl Default for VisitChecks {
    fn default() -> Self {
        Self {
            max_distance_m: 200.0,
            max_accuracy_m: 100.0,
            min_on_site_secs: 300,
            fix_time_slack_secs: 600,
            same_spot_households: 3,
            same_spot_m: 30.0,
            clock_skew_secs: 300,
            max_age_days: 90,
        }
    }
}

/// The re-check schedule job.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RecheckSettings {
    /// How often the job looks for households due; 0 turns it off.
    pub every_secs: u64,
    /// Days between re-checks per assistance status.
    pub dibao_days: i64,
    pub tekun_days: i64,
    /// Half-yearly for dibao households whose income is irregular or who can work (tag `irregular_income`).
    pub dibao_irregular_days: i64,
    /// Days from creation to the due date of a re-check task.
    pub due_in_days: i64,
    /// The form re-check tasks use.
    pub form_key: String,
}

impl Default for RecheckSettings {
    fn default() -> Self {
        Self {
            every_secs: 3600,
            dibao_days: 365,
            tekun_days: 365,
            dibao_irregular_days: 182,
            due_in_days: 30,
            form_key: "home_visit".into(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            production: false,
            tls_cert: None,
            tls_key: None,
            data_key: None,
            token_pepper: None,
            audit_key: None,
            data_key_id: "k1".into(),
            retired_data_keys: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            lockout_threshold: 5,
            lockout_secs: 30 * 60,
            admin_second_factor: None,
            login_limit_per_ip: 60,
            login_limit_per_account: 10,
            password_hash_concurrency: 1,
            password_queue_timeout_ms: 5_000,
            json_limit_bytes: 256 * 1024,
            boundary_import_limit_bytes: 64 * 1024 * 1024,
            max_boundary_vertices: 1_000_000,
            db_pool_size: 16,
            workers: None,
            log_json: false,
            shutdown_timeout_secs: 30,
            visit_checks: VisitChecks::default(),
            recheck: RecheckSettings::default(),
            discovery: DiscoverySettings::default(),
            photos: PhotoSettings::default(),
            audit: AuditSettings::default(),
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Settings {
    /// Whether admins need a second factor: as set, else in production.
    pub fn admin_second_factor_required(&self) -> bool {
        self.admin_second_factor.unwrap_or(self.production)
    }

    /// Layers defaults, the TOML file (if any), `JIUZHU_*` variables and flags.
    pub fn load(
        config_file: Option<&Path>,
        flags: &FlagOverrides,
    ) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::new();
        match config_file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("jiuzhu.toml")),
        }
        figment
            .merge(Env::prefixed("JIUZHU_").ignore(&["config"]))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(Box::new)
    }

    /// Refuses settings that would weaken a legal floor (audit retention under 180 days).
    pub fn check(&self) -> Result<(), String> {
        if self.audit.retention_days < MIN_AUDIT_RETENTION_DAYS {
            return Err(format!(
                "audit.retention_days must be at least {MIN_AUDIT_RETENTION_DAYS} (got {})",
                self.audit.retention_days
            ));
        }
        // The demo sender keeps the codes where `GET /demo/sms-code` hands them to anyone.
        if self.production && self.discovery.sms_sender == "demo" {
            return Err(
                "discovery.sms_sender = \"demo\" hands verification codes to anyone: not with --production"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("jiuzhu.db").display()),
        }
    }
}

/// Keys the server cannot run without.
pub struct Secrets {
    /// Encrypts ID numbers at rest.
    pub data_key: SecretBox<[u8; 32]>,
    /// Keys the hashes of tokens and the blind index of ID numbers.
    pub token_pepper: SecretBox<[u8; 32]>,
    /// Keys the audit chain and signs its checkpoints (`audit`).
    pub audit_key: SecretBox<[u8; 32]>,
    /// Earlier data keys by id, to read rows sealed before a rotation.
    pub retired_data_keys: Vec<RetiredKey>,
}

/// A data key retired by a rotation, with its id.
pub type RetiredKey = (String, SecretBox<[u8; 32]>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("--production needs JIUZHU_DATA_KEY, JIUZHU_TOKEN_PEPPER and JIUZHU_AUDIT_KEY (32 bytes each, hex) given explicitly")]
    MissingInProduction,
    #[error("{0} must be 64 hexadecimal characters (32 bytes)")]
    Malformed(&'static str),
    #[error("cannot read or write the secrets file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `secrets.toml`: the keys not given by the settings. A file written before a key existed (the
/// audit key came later) gets the missing key added on the next start.
#[derive(Default, Serialize, Deserialize)]
struct SecretsFile {
    data_key: Option<String>,
    token_pepper: Option<String>,
    audit_key: Option<String>,
}

impl Secrets {
    /// Takes the secrets from the settings; otherwise (not in production) from
    /// `DATA_DIR/secrets.toml`, generating that file, mode 0600, on first start, and adding to
    /// it any key it lacks.
    pub fn resolve(settings: &Settings) -> Result<Self, SecretsError> {
        let retired_data_keys = retired_keys(settings)?;
        if let (Some(key), Some(pepper), Some(audit)) = (
            &settings.data_key,
            &settings.token_pepper,
            &settings.audit_key,
        ) {
            return Ok(Self {
                data_key: decode_key(key.expose_secret(), "data_key")?,
                token_pepper: decode_key(pepper.expose_secret(), "token_pepper")?,
                audit_key: decode_key(audit.expose_secret(), "audit_key")?,
                retired_data_keys,
            });
        }
        if settings.production {
            return Err(SecretsError::MissingInProduction);
        }
        let path = settings.data_dir.join("secrets.toml");
        let io = |source| SecretsError::Io {
            path: path.clone(),
            source,
        };
        let mut file = if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(io)?;
            parse_secrets_file(&text).ok_or(SecretsError::Malformed("secrets.toml"))?
        } else {
            std::fs::create_dir_all(&settings.data_dir).map_err(io)?;
            SecretsFile::default()
        };
        let mut changed = false;
        for (given, slot) in [
            (&settings.data_key, &mut file.data_key),
            (&settings.token_pepper, &mut file.token_pepper),
            (&settings.audit_key, &mut file.audit_key),
        ] {
            if given.is_none() && slot.is_none() {
                *slot = Some(hex::encode(rand::random::<[u8; 32]>()));
                changed = true;
            }
        }
        if changed {
            write_private(&path, toml_text(&file).as_bytes()).map_err(io)?;
        }
        let pick = |given: &Option<SecretString>, stored: &Option<String>, what| {
            let text = given
                .as_ref()
                .map(|s| s.expose_secret().to_owned())
                .or_else(|| stored.clone())
                .ok_or(SecretsError::Malformed(what))?;
            decode_key(&text, what)
        };
        Ok(Self {
            data_key: pick(&settings.data_key, &file.data_key, "data_key")?,
            token_pepper: pick(&settings.token_pepper, &file.token_pepper, "token_pepper")?,
            audit_key: pick(&settings.audit_key, &file.audit_key, "audit_key")?,
            retired_data_keys,
        })
    }

    /// Fresh random secrets, for tests and tools that keep nothing.
    pub fn ephemeral() -> Self {
        Self {
            data_key: SecretBox::new(Box::new(rand::random())),
            token_pepper: SecretBox::new(Box::new(rand::random())),
            audit_key: SecretBox::new(Box::new(rand::random())),
            retired_data_keys: Vec::new(),
        }
    }

    /// The field cipher: the current key under its id, retired keys for reading old rows.
    pub fn field_cipher(&self, key_id: &str) -> crate::crypto::FieldCipher {
        self.retired_data_keys.iter().fold(
            crate::crypto::FieldCipher::new(&self.data_key, &self.token_pepper, key_id),
            |cipher, (id, key)| cipher.with_old_key(id, key),
        )
    }
}

fn retired_keys(settings: &Settings) -> Result<Vec<RetiredKey>, SecretsError> {
    let Some(list) = &settings.retired_data_keys else {
        return Ok(Vec::new());
    };
    list.expose_secret()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (id, hex_key) = entry
                .split_once(':')
                .ok_or(SecretsError::Malformed("retired_data_keys"))?;
            Ok((
                id.trim().to_owned(),
                decode_key(hex_key, "retired_data_keys")?,
            ))
        })
        .collect()
}

fn toml_text(file: &SecretsFile) -> String {
    let mut text = String::from(
        "# Generated on first start. Keep it private and backed up: without data_key the\n\
         # encrypted ID numbers cannot be read; without audit_key the audit log cannot be verified.\n",
    );
    for (name, value) in [
        ("data_key", &file.data_key),
        ("token_pepper", &file.token_pepper),
        ("audit_key", &file.audit_key),
    ] {
        if let Some(value) = value {
            text.push_str(&format!("{name} = \"{value}\"\n"));
        }
    }
    text
}

fn parse_secrets_file(text: &str) -> Option<SecretsFile> {
    Figment::new()
        .merge(Toml::string(text))
        .extract::<SecretsFile>()
        .ok()
}

fn decode_key(hex_text: &str, what: &'static str) -> Result<SecretBox<[u8; 32]>, SecretsError> {
    let mut out = Box::new([0u8; 32]);
    hex::decode_to_slice(hex_text.trim(), &mut out[..])
        .map_err(|_| SecretsError::Malformed(what))?;
    Ok(SecretBox::new(out))
}

/// Writes the file whole, mode 0600 from its creation: a private temporary file renamed over
/// the old one, so a crash leaves either the old keys or the new file, never half of one.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("toml.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn assert_private(path: &Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn generates_private_secrets_once() {
        let dir = std::env::temp_dir().join(format!("jiuzhu-secrets-{}", uuid::Uuid::now_v7()));
        let settings = Settings {
            data_dir: dir.clone(),
            ..Settings::default()
        };
        let first = Secrets::resolve(&settings).unwrap();
        let second = Secrets::resolve(&settings).unwrap();
        assert_eq!(
            first.data_key.expose_secret(),
            second.data_key.expose_secret()
        );
        assert_private(&dir.join("secrets.toml"));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn an_old_secrets_file_gets_an_audit_key_and_keeps_its_keys() {
        let dir = std::env::temp_dir().join(format!("jiuzhu-secrets-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, pepper) = ("11".repeat(32), "22".repeat(32));
        std::fs::write(
            dir.join("secrets.toml"),
            format!("data_key = \"{key}\"\ntoken_pepper = \"{pepper}\"\n"),
        )
        .unwrap();
        let settings = Settings {
            data_dir: dir.clone(),
            ..Settings::default()
        };
        let first = Secrets::resolve(&settings).unwrap();
        assert_eq!(hex::encode(first.data_key.expose_secret()), key);
        assert_eq!(hex::encode(first.token_pepper.expose_secret()), pepper);
        let second = Secrets::resolve(&settings).unwrap();
        assert_eq!(
            first.audit_key.expose_secret(),
            second.audit_key.expose_secret()
        );
        assert_private(&dir.join("secrets.toml"));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn retention_under_180_days_is_refused() {
        let mut settings = Settings::default();
        assert!(settings.check().is_ok());
        settings.audit.retention_days = 90;
        assert!(settings.check().is_err());
    }

    #[test]
    fn production_refuses_the_demo_sms_sender() {
        let mut settings = Settings::default();
        settings.discovery.sms_sender = "demo".into();
        assert!(settings.check().is_ok(), "the demo may use it");
        settings.production = true;
        assert!(settings.check().is_err());
        settings.discovery.sms_sender = "file".into();
        assert!(settings.check().is_ok());
    }

    #[test]
    fn production_refuses_missing_secrets() {
        let settings = Settings {
            production: true,
            data_dir: std::env::temp_dir().join("jiuzhu-never-created"),
            ..Settings::default()
        };
        assert!(matches!(
            Secrets::resolve(&settings),
            Err(SecretsError::MissingInProduction)
        ));
    }

    #[test]
    fn malformed_key_is_refused_without_echoing_it() {
        let settings = Settings {
            data_key: Some(SecretString::from("not-hex-secret-value")),
            token_pepper: Some(SecretString::from("00".repeat(32))),
            audit_key: Some(SecretString::from("00".repeat(32))),
            ..Settings::default()
        };
        let err = Secrets::resolve(&settings).unwrap_err().to_string();
        assert!(!err.contains("not-hex-secret-value"));
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn flags_override_environment_override_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "bind = \"0.0.0.0:1\"\ndb_pool_size = 3\nlockout_threshold = 7",
            )?;
            jail.set_env("JIUZHU_BIND", "0.0.0.0:2");
            jail.set_env("JIUZHU_LOCKOUT_THRESHOLD", "9");
            let flags = FlagOverrides {
                bind: Some("0.0.0.0:3".into()),
                ..FlagOverrides::default()
            };
            let s = Settings::load(Some(Path::new("custom.toml")), &flags).map_err(|e| *e)?;
            assert_eq!(s.bind, "0.0.0.0:3");
            assert_eq!(s.lockout_threshold, 9);
            assert_eq!(s.db_pool_size, 3);
            assert_eq!(s.login_limit_per_account, 10);
            Ok(())
        });
    }

    #[test]
    fn rotated_keys_still_read_old_rows() {
        let old = Secrets::ephemeral();
        let sealed = old.field_cipher("k1").encrypt("secret", "ctx").unwrap();
        let settings = Settings {
            data_key: Some(SecretString::from("11".repeat(32))),
            token_pepper: Some(SecretString::from(hex::encode(
                old.token_pepper.expose_secret(),
            ))),
            audit_key: Some(SecretString::from("33".repeat(32))),
            data_key_id: "k2".into(),
            retired_data_keys: Some(SecretString::from(format!(
                "k1:{}",
                hex::encode(old.data_key.expose_secret())
            ))),
            ..Settings::default()
        };
        let new = Secrets::resolve(&settings).unwrap().field_cipher("k2");
        assert_eq!(
            new.decrypt(&sealed.key_id, &sealed.ciphertext, "ctx")
                .unwrap(),
            "secret"
        );
        assert_eq!(new.encrypt("x", "ctx").unwrap().key_id, "k2");
    }
}
