//! The grid worker's loop and the coordinator's side of it: households, forms, tasks, sync and
//! visits.

use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::household::{AssistanceStatus, CreateHousehold, Household, HouseholdSummary};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::photo::Photo;
use jiuzhu_proto::task::{
    AssignTask, BulkCreateTasks, BulkCreated, CancelTask, CreateTask, FormSummary, FormVersion,
    SyncPage, Task, TaskState,
};
use jiuzhu_proto::visit::{ReviewState, ReviewVisit, SubmitVisit, Visit};
use jiuzhu_proto::{OrgUnitId, UserId};
use reqwest::Method;
use serde::Serialize;

use super::{Client, Result};

/// Filters for listing households.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HouseholdQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_id: Option<OrgUnitId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AssistanceStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// Filters for listing tasks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// Filters for listing visits.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VisitQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_state: Option<ReviewState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A submitted visit and whether this call stored it or found it stored already.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub visit: Visit,
    /// The server had this visit already (the same id and body): nothing new was written.
    pub replay: bool,
}

impl Client {
    pub async fn households(&self, query: &HouseholdQuery) -> Result<Page<HouseholdSummary>> {
        self.send(self.request(Method::GET, "/households").query(query))
            .await
    }

    pub async fn household(&self, id: uuid::Uuid) -> Result<Household> {
        self.send(self.request(Method::GET, &format!("/households/{id}")))
            .await
    }

    pub async fn create_household(&self, body: &CreateHousehold) -> Result<Household> {
        self.send(self.request(Method::POST, "/households").json(body))
            .await
    }

    pub async fn forms(&self) -> Result<Vec<FormSummary>> {
        self.send(self.request(Method::GET, "/forms")).await
    }

    pub async fn create_form(&self, form: &FormDefinition) -> Result<FormVersion> {
        self.send(self.request(Method::POST, "/forms").json(form))
            .await
    }

    pub async fn publish_form(&self, form: &FormDefinition) -> Result<FormVersion> {
        self.send(
            self.request(Method::POST, &format!("/forms/{}/versions", form.key))
                .json(form),
        )
        .await
    }

    pub async fn form_version(&self, key: &str, version: i32) -> Result<FormVersion> {
        self.send(self.request(Method::GET, &format!("/forms/{key}/versions/{version}")))
            .await
    }

    pub async fn tasks(&self, query: &TaskQuery) -> Result<Page<Task>> {
        self.send(self.request(Method::GET, "/tasks").query(query))
            .await
    }

    pub async fn create_task(&self, body: &CreateTask) -> Result<Task> {
        self.send(self.request(Method::POST, "/tasks").json(body))
            .await
    }

    pub async fn bulk_create_tasks(&self, body: &BulkCreateTasks) -> Result<BulkCreated> {
        self.send(self.request(Method::POST, "/tasks/bulk").json(body))
            .await
    }

    pub async fn assign_task(&self, id: uuid::Uuid, assignee_id: UserId) -> Result<Task> {
        self.send(
            self.request(Method::POST, &format!("/tasks/{id}/assign"))
                .json(&AssignTask { assignee_id }),
        )
        .await
    }

    pub async fn accept_task(&self, id: uuid::Uuid) -> Result<Task> {
        self.send(self.request(Method::POST, &format!("/tasks/{id}/accept")))
            .await
    }

    pub async fn cancel_task(&self, id: uuid::Uuid, reason: &str) -> Result<Task> {
        self.send(
            self.request(Method::POST, &format!("/tasks/{id}/cancel"))
                .json(&CancelTask {
                    reason: reason.to_owned(),
                }),
        )
        .await
    }

    /// One page of the calling worker's changes since `cursor` (everything current without one).
    pub async fn sync(&self, cursor: Option<&str>) -> Result<SyncPage> {
        let mut req = self.request(Method::GET, "/sync");
        if let Some(c) = cursor {
            req = req.query(&[("cursor", c)]);
        }
        self.send(req).await
    }

    /// Submits a visit. Sending the same visit again is safe: the server answers with what it
    /// stored the first time.
    pub async fn submit_visit(&self, visit: &SubmitVisit) -> Result<Submitted> {
        let res = self
            .request(Method::POST, "/visits")
            .json(visit)
            .send()
            .await?;
        let replay = res.status() == reqwest::StatusCode::OK;
        let visit = Self::decode(res).await?;
        Ok(Submitted { visit, replay })
    }

    /// Uploads a photo under the phone's UUID in one body. Sending it again is safe.
    pub async fn put_photo(&self, id: uuid::Uuid, bytes: Vec<u8>) -> Result<(Photo, bool)> {
        let res = self
            .request(Method::PUT, &format!("/photos/{id}"))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()
            .await?;
        let replay = res.status() == reqwest::StatusCode::OK;
        Ok((Self::decode(res).await?, replay))
    }

    pub async fn visits(&self, query: &VisitQuery) -> Result<Page<Visit>> {
        self.send(self.request(Method::GET, "/visits").query(query))
            .await
    }

    pub async fn visit(&self, id: uuid::Uuid) -> Result<Visit> {
        self.send(self.request(Method::GET, &format!("/visits/{id}")))
            .await
    }

    pub async fn review_visit(&self, id: uuid::Uuid, body: &ReviewVisit) -> Result<Visit> {
        self.send(
            self.request(Method::POST, &format!("/visits/{id}/review"))
                .json(body),
        )
        .await
    }
}
