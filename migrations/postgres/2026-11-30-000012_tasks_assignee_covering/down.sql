DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks (assignee_id, state);
