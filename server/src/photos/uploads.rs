//! Resumable uploads: `POST /uploads` declares the photo, its length and checksum; `HEAD` says
//! how much is committed; `PATCH` appends at exactly that offset. Bytes are fsynced before the
//! offset moves, so what the server acknowledged survives a restart; a partial file longer than
//! its committed offset (a crash between the two) is cut back before the next append.

use std::path::PathBuf;

use super::PhotoService;

impl PhotoService {
    /// Where an upload's bytes wait.
    pub fn part_path(&self, upload_id: &str) -> PathBuf {
        self.spool.join(format!("{upload_id}.part"))
    }
}

/// Opens an upload's part file for appending at `committed`, cutting off anything past it.
pub async fn open_at(path: &std::path::Path, committed: u64) -> std::io::Result<tokio::fs::File> {
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .await?;
    file.set_len(committed).await?;
    let mut file = file;
    use tokio::io::AsyncSeekExt;
    file.seek(std::io::SeekFrom::Start(committed)).await?;
    Ok(file)
}
