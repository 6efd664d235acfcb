DROP TABLE change_head;
DROP TABLE changes;
DROP TABLE task_events;
DROP TABLE tasks;
DROP TABLE form_versions;
DROP TABLE forms;
